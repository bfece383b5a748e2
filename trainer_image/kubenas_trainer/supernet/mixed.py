"""The supernet's searchable slot: every choice's op, combined as the controller says.

One Controller is shared by all mixed ops of a supernet, so a method sets once per step
what the whole network computes: one path (single-path mode: each slot runs only its
chosen op) or mixing weights (mixed mode: each slot outputs the weighted sum of all its
ops). Slots repeated in the network (nb201's cell in every stage) share one row of weights,
as a derived architecture shares one op list.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Controller:
    """What every mixed op computes in the next forward passes: a path or mixing weights."""

    def __init__(self) -> None:
        self.path: Sequence[int] | None = None
        self.weights: torch.Tensor | None = None  # [slots, choices]

    def use_path(self, path: Sequence[int]) -> None:
        self.path, self.weights = path, None

    def use_weights(self, weights: torch.Tensor) -> None:
        self.path, self.weights = None, weights


class MixedOp(nn.Module):
    """Slot `slot` of the network: one op per choice."""

    def __init__(self, ops: Sequence[nn.Module], slot: int, controller: Controller) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.slot = slot
        self.controller = controller

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        path, weights = self.controller.path, self.controller.weights
        if path is not None:
            return self.ops[path[self.slot]](x)
        if weights is None:
            raise RuntimeError("the supernet has neither a path nor mixing weights")
        row = weights[self.slot]
        out = row[0] * self.ops[0](x)
        for weight, op in zip(row[1:], self.ops[1:], strict=True):
            out = out + weight * op(x)
        return out
