"""kubenas_trainer.optim takes the same steps as torch.optim and shares its state_dict layout."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from kubenas_trainer.models import build_model
from kubenas_trainer.optim import SGD, AdamW, Optimizer
from torch import nn

ARCH = {"depth": 2, "width": 4, "op": ["conv3x3", "sep_conv3x3"], "dropout": 0.0}


def _pair(kind: str, weight_decay: float) -> tuple[nn.Module, Optimizer, nn.Module,
                                                   torch.optim.Optimizer]:
    torch.manual_seed(0)
    ours = build_model("macro_cnn", ARCH, (1, 8, 8), 10)
    theirs = copy.deepcopy(ours)
    if kind == "sgd":
        return (ours, SGD(list(ours.parameters()), lr=0.1, weight_decay=weight_decay), theirs,
                torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=weight_decay))
    return (ours, AdamW(list(ours.parameters()), lr=0.01, weight_decay=weight_decay), theirs,
            torch.optim.AdamW(theirs.parameters(), lr=0.01, weight_decay=weight_decay))


def _steps(model: nn.Module, optimizer: Optimizer | torch.optim.Optimizer,
           steps: range) -> None:
    for step in steps:
        generator = torch.Generator().manual_seed(step)
        x = torch.randn(8, 1, 8, 8, generator=generator)
        y = torch.randint(0, 10, (8,), generator=generator)
        optimizer.param_groups[0]["lr"] *= 0.9  # as a schedule would
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


def _assert_same(a: nn.Module, b: nn.Module) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_steps_match_torch_optim(kind: str, weight_decay: float) -> None:
    ours, ours_opt, theirs, theirs_opt = _pair(kind, weight_decay)
    _steps(ours, ours_opt, range(6))
    _steps(theirs, theirs_opt, range(6))
    _assert_same(ours, theirs)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_state_dicts_are_interchangeable_with_torch_optim(kind: str) -> None:
    ours, ours_opt, theirs, theirs_opt = _pair(kind, 5e-4)
    _steps(ours, ours_opt, range(3))
    _steps(theirs, theirs_opt, range(3))
    # Swap the optimizer states (as a checkpoint written by the other would), then continue.
    ours_state, theirs_state = ours_opt.state_dict(), theirs_opt.state_dict()
    assert ours_state.keys() == theirs_state.keys()
    assert ours_state["param_groups"][0].keys() == theirs_state["param_groups"][0].keys()
    ours_opt.load_state_dict(copy.deepcopy(theirs_state))
    theirs_opt.load_state_dict(copy.deepcopy(ours_state))
    _steps(ours, ours_opt, range(3, 6))
    _steps(theirs, theirs_opt, range(3, 6))
    _assert_same(ours, theirs)


def test_params_without_grads_are_left_alone() -> None:
    used, unused = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for optimizer in (SGD([used, unused], lr=0.1, weight_decay=0.1),
                      AdamW([used, unused], lr=0.1, weight_decay=0.1)):
        optimizer.zero_grad()
        (used * 2).sum().backward()
        optimizer.step()
        assert torch.equal(unused, torch.ones(2)) and not torch.equal(used, torch.ones(2))
        assert list(optimizer.state) == [0]
    with pytest.raises(ValueError, match="different set of parameters"):
        SGD([used], lr=0.1, weight_decay=0).load_state_dict(optimizer.state_dict())
