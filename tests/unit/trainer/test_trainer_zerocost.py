"""Zero-cost proxies: their values on known models, determinism, nulls, and the trial's RNG."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kubenas_trainer.__main__ import main
from kubenas_trainer.catalog import ZERO_COST_PROXIES
from kubenas_trainer.contract import TrainingConfig, ZeroCostConfig
from kubenas_trainer.data import Dataset, load_dataset
from kubenas_trainer.models import build_model
from kubenas_trainer.profile import count_flops, count_params
from kubenas_trainer.report import PREFIX
from kubenas_trainer.zerocost import average_ranks, minibatch, ranking, score, trial_metrics
from kubenas_trainer.zerocost import proxies as proxies_module
from scipy.stats import rankdata
from torch import nn

from .conftest import DIGITS

ALL = list(ZERO_COST_PROXIES)
# Dropout draws from the global RNG in the train-mode pass, so the RNG test means something.
DROPOUT_CNN = {"family": "macro_cnn", "params": {"depth": 2, "width": 8, "dropout": 0.5,
                                                  "op": ["conv3x3", "sep_conv3x3"]}}


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset(TrainingConfig(), 0)


def _nb201(data: Dataset, edges: list[str], seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model("nb201", {"edges": edges, "cells_per_stage": 1, "channels": 8},
                       data.in_shape, data.num_classes)


def _score(model: nn.Module, data: Dataset, proxies: list[str] = ALL,
           seed: int = 0) -> dict[str, float | None]:
    x, y = minibatch(data, 64, seed)
    scores, errors = score(model, x, y, proxies, seed)
    assert errors == {}
    return scores


def test_params_and_flops_are_exact() -> None:
    # 2x4x4 conv outputs of 9 MACs each, then 32 -> 10 in the head; 2 FLOPs per MAC.
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(),
                          nn.Flatten(), nn.Linear(32, 10))
    x, y = torch.randn(8, 1, 4, 4), torch.arange(8)
    scores, _ = score(model, x, y, ["params", "flops"], 0)
    assert scores == {"params": 18 + 320 + 10, "flops": 2 * (32 * 9 + 320)}
    assert scores == {"params": count_params(model), "flops": count_flops(model, (1, 4, 4))}


def test_synflow_of_one_linear_layer_is_its_absolute_weight_sum() -> None:
    # R = sum_i sum_j |W_ij| * 1, so dR/dW_ij = 1 and synflow = sum |W|; the bias is not scored.
    layer = nn.Linear(3, 2)
    expected = layer.weight.detach().double().abs().sum().item()
    scores, _ = score(layer, torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), ["synflow"], 0)
    assert scores["synflow"] == pytest.approx(expected, rel=1e-12)


def test_snip_and_grad_norm_follow_their_definitions() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x, y = torch.randn(5, 1, 2, 2), torch.tensor([0, 1, 1, 0, 1])
    reference = torch.nn.functional.cross_entropy(model(x), y)
    weights = [model[1].weight, model[3].weight]
    grads = torch.autograd.grad(reference, weights)
    scores, _ = score(model, x, y, ["grad_norm", "snip"], 0)
    assert scores["grad_norm"] == pytest.approx(sum(g.norm().item() for g in grads))
    assert scores["snip"] == pytest.approx(sum((g * w).abs().sum().item()
                                               for g, w in zip(grads, weights, strict=True)))


def test_naswot_is_the_log_determinant_of_the_activation_code_kernel() -> None:
    # One ReLU over 2 units; codes [1,1], [1,0], [0,0]: K = [[2,1,0],[1,2,1],[0,1,2]].
    model = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(2, 2))
    x = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]).reshape(3, 1, 1, 2)
    scores, _ = score(model, x, torch.tensor([0, 1, 0]), ["naswot"], 0)
    assert scores["naswot"] == pytest.approx(math.log(4))  # det K = 4


def test_jacob_cov_matches_its_eigenvalue_formula() -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 3))
    x = torch.randn(5, 1, 2, 3, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(x.grad.flatten(1).numpy())) + 1e-5
    expected = -np.sum(np.log(eigenvalues) + 1 / eigenvalues)
    scores, _ = score(model, x.detach(), torch.zeros(5, dtype=torch.long), ["jacob_cov"], 0)
    assert scores["jacob_cov"] == pytest.approx(expected, rel=1e-6)


def test_conv_paths_outscore_skips_and_zeros(digits: Dataset) -> None:
    """synflow orders none < skip < conv; a cell of only `none` edges is lowest (or null,
    which ranks lowest) on every proxy."""
    cells = {op: _score(_nb201(digits, [op] * 6), digits)
             for op in ("none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")}
    synflow = [cells[op]["synflow"] for op in ("none", "skip_connect", "nor_conv_3x3")]
    assert synflow[0] == 0 and 0 < synflow[1] < synflow[2]  # type: ignore[operator]
    ranks = {name: average_ranks([cell[name] for cell in cells.values()]) for name in ALL}
    for name, rank in ranks.items():
        assert rank[0] == rank.max(), (name, {op: c[name] for op, c in cells.items()})
    assert cells["none"]["jacob_cov"] is None and cells["none"]["naswot"] is None


def test_scores_are_deterministic_for_a_seed(digits: Dataset) -> None:
    edges = ["nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1",
             "nor_conv_3x3"]
    first = _score(_nb201(digits, edges), digits)
    assert _score(_nb201(digits, edges), digits) == first
    other = _score(_nb201(digits, edges, seed=1), digits, seed=1)
    assert other["synflow"] != first["synflow"] and other["params"] == first["params"]


def test_non_finite_scores_and_failing_proxies_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].weight[0, 0] = math.nan
    x, y = torch.randn(3, 1, 2, 2), torch.tensor([0, 1, 0])
    scores, errors = score(model, x, y, ["synflow", "grad_norm", "params"], 0)
    assert scores == {"synflow": None, "grad_norm": None, "params": 10} and errors == {}

    def out_of_memory(*args: object) -> float:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(proxies_module, "_synflow", out_of_memory)
    scores, errors = score(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), x, y,
                           ["synflow", "snip"], 0)
    assert scores["synflow"] is None and scores["snip"] is not None
    assert errors == {"synflow": "RuntimeError: CUDA out of memory"}


def test_scoring_leaves_the_model_and_the_global_rng_alone(digits: Dataset) -> None:
    torch.manual_seed(5)
    model = build_model(DROPOUT_CNN["family"], DROPOUT_CNN["params"], digits.in_shape, 10)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.get_rng_state()
    warnings: list[str] = []
    metrics = trial_metrics(model, digits, ZeroCostConfig(tuple(ALL)), 5, warnings.append)
    assert torch.equal(torch.get_rng_state(), state) and warnings == []
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert set(metrics) == {f"zc_{name}" for name in ALL}
    assert metrics["zc_params"] == count_params(model)


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], **extra: str) -> dict:
    env = {"KUBENAS_ARCHITECTURE": json.dumps(DROPOUT_CNN), "KUBENAS_BUDGET": "1",
           "KUBENAS_TRAINING": json.dumps(DIGITS), "KUBENAS_SEED": "3",
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log"), **extra}
    assert main([], env) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1][len(PREFIX):])


@pytest.mark.usefixtures("clean_env")
def test_a_trial_with_proxies_trains_exactly_as_one_without(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = _run(tmp_path, capsys)
    scored = _run(tmp_path, capsys, KUBENAS_ZEROCOST=json.dumps({"proxies": ALL,
                                                                 "batchSize": 32}))
    trained = ("val_accuracy", "val_loss", "train_loss", "params", "flops")
    assert {k: scored["metrics"][k] for k in trained} == {k: plain["metrics"][k] for k in trained}
    assert scored["curve"] == plain["curve"]
    assert scored["metrics"]["zc_params"] == plain["metrics"]["params"]
    assert scored["metrics"]["zc_flops"] == plain["metrics"]["flops"]
    assert all(isinstance(scored["metrics"][f"zc_{name}"], float | int) for name in ALL)


@pytest.mark.usefixtures("clean_env")
def test_a_failing_proxy_is_null_and_the_trial_still_trains(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> float:
        raise RuntimeError("no memory")

    monkeypatch.setattr(proxies_module, "_synflow", broken)
    env = {"KUBENAS_ARCHITECTURE": json.dumps(DROPOUT_CNN), "KUBENAS_BUDGET": "1",
           "KUBENAS_TRAINING": json.dumps(DIGITS), "KUBENAS_TERMINATION_LOG": str(tmp_path / "l"),
           "KUBENAS_ZEROCOST": '{"proxies": ["synflow", "params"]}'}
    assert main([], env) == 0
    captured = capsys.readouterr()
    assert ("warning: zero-cost proxy synflow failed: RuntimeError: no memory; reported as null"
            in captured.err)
    result = json.loads((tmp_path / "l").read_text())
    assert result["metrics"]["zc_synflow"] is None and result["metrics"]["zc_params"] > 0
    assert result["epochs_trained"] == 1


def test_minibatch_is_seeded_and_capped(digits: Dataset) -> None:
    x, y = minibatch(digits, 64, 7)
    assert x.shape == (64, 1, 8, 8) and torch.equal(minibatch(digits, 64, 7)[1], y)
    assert not torch.equal(minibatch(digits, 64, 8)[1], y)
    assert len(minibatch(digits, 10**6, 0)[0]) == len(digits.x_train)


VALUES = st.lists(st.one_of(st.none(), st.integers(-3, 3).map(float)), min_size=1, max_size=30)


@given(VALUES)
def test_average_ranks_put_the_highest_first_and_none_last(values: list[float | None]) -> None:
    keys = [-math.inf if v is None else v for v in values]
    expected = len(values) + 1 - rankdata(keys)  # scipy ranks ascending, ties averaged
    np.testing.assert_allclose(average_ranks(values), expected)


@settings(max_examples=50)
@given(st.integers(1, 4).flatmap(lambda n: st.lists(
    st.fixed_dictionaries({name: st.one_of(st.none(), st.floats(-5, 5))
                           for name in ALL[:n]}), min_size=1, max_size=20)))
def test_ranking_orders_by_mean_rank(rows: list[dict[str, float | None]]) -> None:
    names = list(rows[0])
    order = ranking(rows, names)
    mean = np.mean([average_ranks([row[n] for row in rows]) for n in names], axis=0)
    assert sorted(order) == list(range(len(rows)))
    for a, b in itertools.pairwise(order):  # best first; ties keep the order drawn
        assert mean[a] < mean[b] or (mean[a] == mean[b] and a < b)

