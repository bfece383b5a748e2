"""The one-shot result: DrNAS derives uncollapsed cells, the CLI writes the documented
`supernet` object, and it fits a termination message even with the most candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubenas.backends.contract import TrialResult, interpret
from kubenas_trainer.__main__ import main
from kubenas_trainer.oplist import OpListSpace
from kubenas_trainer.report import MAX_BYTES, PREFIX, build_result, encode
from kubenas_trainer.supernet.run import Outcome, fit_candidates

from .conftest import run_trainer, trainer_env
from .supernets import NB201_OPS, PARAMETER_FREE, TRAINING, result_of, search_env


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("seed", ["0", "1"])
def test_drnas_does_not_collapse_to_parameter_free_edges(
        seed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's net (8 channels, one cell per stage) at the catalog's settings."""
    net = {"family": "nb201", "params": {"channels": 8, "cells_per_stage": 1}}
    env = search_env(tmp_path, "drnas", net, KUBENAS_SEED=seed)
    env["KUBENAS_SUPERNET"] = json.dumps({"method": "drnas", "choices": {"edges": NB201_OPS},
                                          "candidates": 5})
    assert main([], env) == 0
    supernet = result_of(capsys)[0]["supernet"]
    for edges in [supernet["architecture"]["edges"],
                  *(c["params"]["edges"] for c in supernet["candidates"])]:
        assert sum(op in PARAMETER_FREE for op in edges) <= 2, edges


@pytest.mark.usefixtures("clean_env")
def test_divergence_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = search_env(tmp_path, "spos", KUBENAS_TRAINING=json.dumps(
        {**TRAINING, "learningRate": 10, "weightDecay": 1}))
    assert main([], env) == 1
    assert "kubenas-trainer: error: training diverged" in capsys.readouterr().err


def test_the_cli_writes_the_supernet_result(tmp_path: Path) -> None:
    macro = {"family": "macro_cnn", "params": {"depth": 3, "width": 4}}
    ops = ["conv3x3", "conv5x5", "sep_conv3x3", "sep_conv5x5", "max_pool3x3", "skip"]
    search = {"method": "darts", "choices": {"op": ops}, "candidates": 3}
    done = run_trainer(trainer_env(tmp_path, KUBENAS_ARCHITECTURE=macro, KUBENAS_BUDGET="1",
                                   KUBENAS_SUPERNET=search))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "termination-log").read_text()
    assert len(text.encode()) < MAX_BYTES
    assert done.stdout.strip().splitlines()[-1] == PREFIX + text
    assert "epoch 1/1" in done.stdout
    result = json.loads(text)
    supernet = result["supernet"]
    assert supernet["method"] == "darts" and supernet["weightKind"] == "probability"
    assert set(supernet["architecture"]) == {"op"} and len(supernet["architecture"]["op"]) == 3
    assert len(supernet["candidates"]) == 3
    assert all(set(c) == {"params", "score"} and set(c["params"]["op"]) <= set(ops)
               for c in supernet["candidates"])
    assert len(supernet["weights"]["op"]) == 3 and len(supernet["weights"]["op"][0]) == 6
    assert isinstance(interpret(result, "val_accuracy"), TrialResult)


def test_twenty_candidates_of_a_twelve_layer_space_fit_the_termination_message() -> None:
    ops = ("sep_conv5x5", "sep_conv3x3", "max_pool3x3", "conv5x5", "conv3x3", "skip")
    space = OpListSpace("macro_cnn", {"depth": 12, "width": 16}, "op", ops, 12)
    paths = [tuple((i + slot) % 3 for slot in range(12)) for i in range(20)]
    candidates = [(p, 0.123456 - i / 1000) for i, p in enumerate(paths)]
    weights = [[1 / 6 + 1e-5 * c for c in range(6)] for _ in range(12)]
    outcome = Outcome(paths[0], candidates, weights, "probability")
    metrics = {"val_accuracy": 0.9876543, "val_loss": 0.0123456, "train_loss": 0.0234567,
               "samples_per_second": 12345.678, "params": 123456, "flops": 12345678,
               "latency_ms": 1.2345678}
    protocol = {"runtime": "torch", "version": "2.13.0+cpu", "device": "cpu",
                "precision": "float32", "layout": "NCHW", "batch_size": 1, "threads": 1,
                "warmup_runs": 10, "timed_runs": 50, "statistic": "median"}
    result = build_result(metrics, 50, 50, 5000, 10, "/ckpt/" + "x" * 60, [0.5] * 50, protocol)
    result["supernet"] = outcome.report(space, "darts")
    warnings: list[str] = []
    fitted = json.loads(encode(fit_candidates(result, warnings.append)))
    assert len(encode(fitted).encode()) < MAX_BYTES
    kept = fitted["supernet"]["candidates"]
    assert 5 < len(kept) < 20 and [c["params"]["op"] for c in kept] == \
        [[ops[i] for i in p] for p in paths[:len(kept)]]
    assert warnings == [f"dropped the last {20 - len(kept)} supernet candidates to fit the "
                        "4 KiB result"]
    assert fitted["supernet"]["weights"]["op"][0][1] == 0.1667  # 4 significant digits
