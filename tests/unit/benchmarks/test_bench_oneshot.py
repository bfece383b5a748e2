"""bench-oneshot's pure parts: its manifests are valid, its verdicts and its pooling."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubenas.api.parse import parse

sys.path.insert(0, str(Path(__file__).parents[3] / "benchmarks"))
import oneshot


@pytest.mark.parametrize("dataset", sorted(oneshot.SETUPS))
def test_every_method_is_a_valid_experiment(dataset: str, tmp_path: Path) -> None:
    setup = oneshot.SETUPS[dataset]
    for method in setup.methods:
        exp = parse(oneshot.manifest(setup, method, tmp_path / "d.npz", seed=3))
        one_shot = method in oneshot.ONE_SHOT
        assert (exp.budget.max_duration_s is None) == one_shot
        if one_shot:
            assert exp.strategy.settings["supernetEpochs"] == setup.supernet_epochs
        if method.endswith("+zc"):
            assert exp.strategy.settings["prescreen"] == setup.prescreen


def row(method: str, acc: float, cpu: float, std: float = 0.3) -> dict[str, object]:
    return {"method": method, "dataset": "digits", "mean_test_acc": acc, "search_cpu_s": cpu,
            "std_test_acc": std, "seeds": 5}


def test_the_verdict_needs_both_accuracy_and_a_fifth_of_the_cpu() -> None:
    verdicts = oneshot.verdict([row("drnas", 97.6, 20), row("bo", 98.0, 100),
                                row("random", 97.0, 100), row("random+zc", 97.5, 100)])
    claim = {v["claim"]: v for v in verdicts}
    one_shot = claim["drnas within 0.5 points of bo at <= 1/5 of its CPU-seconds"]
    assert one_shot["holds"] and one_shot["cpu_share"] == 0.2
    assert claim["pre-screening helps random"]["holds"], "0.5 > its standard error 0.19"
    noisy = oneshot.verdict([row("random", 97.0, 100, 1.0), row("random+zc", 97.5, 100, 1.0)])
    assert not noisy[0]["holds"], "0.5 is within the standard error 0.63"
    slow = oneshot.verdict([row("drnas", 98.0, 21), row("bo", 98.0, 100)])
    assert not slow[0]["holds"], "21 % of bo's CPU is more than a fifth"
    worse = oneshot.verdict([row("drnas", 97.4, 10), row("bo", 98.0, 100)])
    assert not worse[0]["holds"]


def test_param_free_share_counts_none_skip_and_pool() -> None:
    arch = {"edges": ["none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3",
                      "nor_conv_3x3"]}
    assert oneshot.param_free_share(arch) == 0.5


@given(st.integers(1, 4), st.integers(0, 255))
def test_pooling_averages_blocks_and_keeps_uint8(n: int, value: int) -> None:
    x = np.full((n, 1, 28, 28), value, dtype=np.uint8)
    x[:, :, 0, 0] = 255 - value
    out = oneshot.pooled(x, 2)
    assert out.shape == (n, 1, 14, 14) and out.dtype == np.uint8
    assert out[0, 0, 1, 1] == value
    assert out[0, 0, 0, 0] == np.rint((3 * value + 255 - value) / 4)
