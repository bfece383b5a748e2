"""bench-edge's judgement: which found model dominates which baseline, and its held-out split."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[3] / "benchmarks"))
import edge


def row(model: str, kind: str, dataset: str, acc: float, ms: float) -> dict[str, object]:
    return {"model": model, "kind": kind, "dataset": dataset, "mean_test_acc": acc,
            "latency_ms": ms}


def test_a_baseline_is_dominated_only_by_a_found_model_of_its_own_dataset() -> None:
    rows = [row("tiny", "found", "digits", 99.0, 0.01),
            row("lenet5", "baseline", "mnist", 93.0, 0.06),
            row("fast", "found", "mnist", 92.0, 0.05),
            row("good", "found", "mnist", 97.0, 0.40),
            row("better", "found", "mnist", 97.5, 0.50),
            row("resnet8", "baseline", "mnist", 96.5, 0.54)]
    verdicts = {d["baseline"]: d for d in edge.dominance(rows)}
    assert verdicts["lenet5"]["dominated_by"] is None  # "tiny" is a digits model
    assert verdicts["resnet8"]["dominated_by"] == "better"  # the most accurate dominator
    assert verdicts["resnet8"]["dominators"] == ["better", "good"]


@given(st.lists(st.integers(0, 4), min_size=10, max_size=200))
def test_the_test_split_is_stratified_and_disjoint(labels: list[int]) -> None:
    y = np.array(labels)
    keep, held = edge.split_test(y)
    assert set(keep).isdisjoint(held) and len(keep) + len(held) == len(y)
    for label in np.unique(y):
        assert (y[held] == label).sum() >= 1
