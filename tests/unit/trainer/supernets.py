"""Shared by the one-shot search tests: a tiny nb201 search on digits and its result."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from kubenas_trainer.report import PREFIX

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
PARAMETER_FREE = {"none", "skip_connect", "avg_pool_3x3"}
TINY = {"family": "nb201", "params": {"channels": 4, "cells_per_stage": 1}}
SETTINGS = {"darts": {"archLearningRate": 3e-3}, "drnas": {"klWeight": 1e-2},
            "spos": {"population": 6, "cycles": 2}}
TRAINING = {"dataset": "digits", "batchSize": 64}


def search_env(tmp_path: Path, method: str, architecture: dict[str, Any] = TINY,
               budget: int = 2, candidates: int = 4, **extra: str) -> dict[str, str]:
    """The environment of a search of every nb201 op (the trial writes tmp_path/log)."""
    search = {"method": method, "choices": {"edges": NB201_OPS}, "candidates": candidates,
              "settings": SETTINGS[method]}
    return {"KUBENAS_ARCHITECTURE": json.dumps(architecture), "KUBENAS_BUDGET": str(budget),
            "KUBENAS_SUPERNET": json.dumps(search), "KUBENAS_TRAINING": json.dumps(TRAINING),
            "KUBENAS_TERMINATION_LOG": str(tmp_path / "log"), **extra}


def result_of(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    """The result line of the trial just run in-process, and its stderr."""
    captured = capsys.readouterr()
    last = captured.out.strip().splitlines()[-1]
    assert last.startswith(PREFIX)
    return json.loads(last[len(PREFIX):]), captured.err


def same_search(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal but for throughput and timing, which no seed fixes."""
    def strip(result: dict[str, Any]) -> dict[str, Any]:
        metrics = {k: v for k, v in result["metrics"].items()
                   if k not in ("samples_per_second", "latency_ms")}
        return {"metrics": metrics, "curve": result["curve"], "supernet": result["supernet"],
                "steps": result["steps_trained"]}
    assert strip(a) == strip(b)


def check_shape(result: dict[str, Any], method: str, k: int) -> None:
    """The documented result: k distinct candidates of choice ops only, best first, the
    architecture among them, one weight per slot and choice, the derived model's metrics."""
    supernet = result["supernet"]
    assert set(supernet) == {"method", "architecture", "candidates", "weights", "weightKind"}
    assert supernet["method"] == method
    assert supernet["weightKind"] == ("frequency" if method == "spos" else "probability")
    candidates = supernet["candidates"]
    paths = [tuple(c["params"]["edges"]) for c in candidates]
    assert len(paths) == len(set(paths)) == k
    assert all(set(c["params"]) == {"edges"} and len(c["params"]["edges"]) == 6
               and set(c["params"]["edges"]) <= set(NB201_OPS) for c in candidates)
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert tuple(supernet["architecture"]["edges"]) in paths
    if method == "spos":
        assert tuple(supernet["architecture"]["edges"]) == paths[0]
    weights = supernet["weights"]["edges"]
    assert len(weights) == 6 and all(len(row) == len(NB201_OPS) for row in weights)
    assert all(math.isclose(sum(row), 1, abs_tol=2e-3) for row in weights)
    metrics = result["metrics"]
    assert set(metrics) == {"val_accuracy", "val_loss", "train_loss", "samples_per_second",
                            "params", "flops", "latency_ms"}
    assert len(result["curve"]) == result["epochs_trained"]
