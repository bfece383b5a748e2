"""The supernet of each family and its derivation: every op runs forward and backward in
mixed and single-path mode, k-best is exact, evolution is seeded and scores each path once."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kubenas_trainer import catalog
from kubenas_trainer.contract import SupernetConfig
from kubenas_trainer.models import build_model
from kubenas_trainer.oplist import OpListSpace
from kubenas_trainer.supernet.build import Supernet
from kubenas_trainer.supernet.derive import evolve, k_best
from kubenas_trainer.supernet.mixed import MixedOp

from .steps import SHAPES

FIXED = {"nb201": {"channels": 4, "cells_per_stage": 1}, "macro_cnn": {"depth": 3, "width": 4}}
PARAM = {"nb201": "edges", "macro_cnn": "op"}


def _ops(family: str) -> tuple[str, ...]:
    param = catalog.FAMILIES[family].param(PARAM[family])
    assert param is not None
    return param.ops


def _supernet(family: str, choices: tuple[str, ...], in_shape: tuple[int, int, int]) -> Supernet:
    config = SupernetConfig("darts", PARAM[family], choices)
    space = OpListSpace.of({"family": family, "params": FIXED[family]}, config.param,
                           config.choices)
    return Supernet(space, in_shape, 10)


def _step(net: Supernet, in_shape: tuple[int, int, int],
          alpha: torch.Tensor | None = None) -> None:
    """Forward 4 images, backward: finite logits, and every weight of the active ops has a
    gradient (and alpha, in mixed mode)."""
    torch.manual_seed(0)
    logits = net(torch.randn(4, *in_shape))
    assert logits.shape == (4, 10) and torch.isfinite(logits).all()
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    if alpha is not None:
        assert alpha.grad is not None and torch.isfinite(alpha.grad).all()
        assert alpha.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("in_shape", SHAPES, ids=["8x8", "28x28"])
@pytest.mark.parametrize("family", ["nb201", "macro_cnn"])
def test_every_op_runs_mixed_and_single_path(family: str, in_shape: tuple[int, int, int]) -> None:
    ops = _ops(family)
    net = _supernet(family, ops, in_shape)
    slots = net.space.slots
    alpha = torch.zeros(slots, len(ops), requires_grad=True)
    net.controller.use_weights(F.softmax(alpha, -1))
    _step(net, in_shape, alpha)
    for index in range(len(ops)):
        net.zero_grad()
        net.controller.use_path((index,) * slots)
        _step(net, in_shape)


@pytest.mark.parametrize("family", ["nb201", "macro_cnn"])
def test_a_path_of_the_supernet_is_the_network_of_that_path(family: str) -> None:
    """The supernet reuses the family's skeleton: with the standalone network's weights in
    the chosen ops, single-path mode computes exactly what that network computes."""
    ops = _ops(family)
    net = _supernet(family, ops, (1, 8, 8)).eval()
    path = tuple(i % len(ops) for i in range(net.space.slots))
    plain = build_model(family, net.space.architecture(path)["params"], (1, 8, 8), 10).eval()
    net.network.load_state_dict(plain.state_dict(), strict=False)  # stem, reductions, head
    for name, module in net.network.named_modules():
        if isinstance(module, MixedOp):
            chosen = module.ops[path[module.slot]]
            chosen.load_state_dict(plain.get_submodule(name).state_dict())
    net.controller.use_path(path)
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(net(x), plain(x))


@settings(max_examples=12, deadline=None)
@given(data=st.data(), family=st.sampled_from(["nb201", "macro_cnn"]))
def test_any_choice_subset_builds_and_runs(data: st.DataObject, family: str) -> None:
    ops = _ops(family)
    choices = tuple(data.draw(st.lists(st.sampled_from(ops), min_size=2, max_size=len(ops),
                                       unique=True)))
    net = _supernet(family, choices, (1, 8, 8))
    assert net.parameter_free() == [_free(family, op) for op in choices]
    alpha = torch.randn(net.space.slots, len(choices), requires_grad=True)
    net.controller.use_weights(F.softmax(alpha, -1))
    _step(net, (1, 8, 8), alpha)
    path = tuple(data.draw(st.lists(st.integers(0, len(choices) - 1),
                                    min_size=net.space.slots, max_size=net.space.slots)))
    net.zero_grad()
    net.controller.use_path(path)
    _step(net, (1, 8, 8))


def _free(family: str, op: str) -> bool:
    return op in {"nb201": ("none", "skip_connect", "avg_pool_3x3"),
                  "macro_cnn": ("max_pool3x3", "skip")}[family]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_k_best_is_the_brute_force_top_k(data: st.DataObject) -> None:
    slots = data.draw(st.integers(1, 4))
    choices = data.draw(st.integers(2, 4))
    probs = st.floats(0.01, 1.0)
    log_probs = [[math.log(data.draw(probs)) for _ in range(choices)] for _ in range(slots)]
    limited = data.draw(st.lists(st.booleans(), min_size=choices, max_size=choices))
    limit = data.draw(st.integers(0, slots))
    k = data.draw(st.integers(1, 20))
    found = k_best(log_probs, k, limited, limit)
    feasible = [p for p in itertools.product(range(choices), repeat=slots)
                if sum(limited[c] for c in p) <= limit]
    total = {p: sum(row[c] for row, c in zip(log_probs, p, strict=True)) for p in feasible}
    expected = sorted(feasible, key=lambda p: (-total[p], p))[:k]
    assert len(found) == len(set(found)) == len(expected)
    assert [total[p] for p in found] == pytest.approx([total[p] for p in expected])
    assert all(sum(limited[c] for c in p) <= limit for p in found)


def test_evolve_is_seeded_and_scores_each_path_once() -> None:
    calls: list[tuple[int, ...]] = []

    def score(path: tuple[int, ...]) -> float:
        calls.append(path)
        return sum(path) / 100 + (0.5 if path[0] == 2 else 0.0)

    found = evolve(score, slots=6, choices=4, population=8, cycles=4, seed=3)
    assert len(calls) == len(set(calls)) == len(found) <= 8 * 5
    assert list(found) == calls and len(found) > 8  # later generations added paths
    assert evolve(score, 6, 4, 8, 4, seed=3) == found
    assert evolve(score, 6, 4, 8, 4, seed=4) != found
    best = max(found, key=lambda p: found[p])
    assert best[0] == 2  # evolution finds the rewarded first choice
    # A space smaller than the population is scored exhaustively, once each.
    small = evolve(score, slots=2, choices=2, population=10, cycles=3, seed=0)
    assert sorted(small) == sorted(itertools.product(range(2), repeat=2))
