"""The supernet of a search space: the family's own network skeleton with a MixedOp in
every searched slot (nb201: each cell edge; macro_cnn: each layer, depth fixed)."""

from __future__ import annotations

import torch
from torch import nn

from ..models import macro_cnn, nb201
from ..oplist import OpListSpace
from .mixed import Controller, MixedOp

# Each family's op table: a supernet builds its mixed ops from the very modules the
# family's networks use.
OPS = {nb201.FAMILY: nb201.OPS, macro_cnn.FAMILY: macro_cnn.OPS}


class Supernet(nn.Module):
    """All architectures of `space` in one network whose weights they share."""

    def __init__(self, space: OpListSpace, in_shape: tuple[int, int, int],
                 num_classes: int) -> None:
        super().__init__()
        self.space = space
        self.controller = Controller()
        ops = OPS[space.family]

        def mixed(slot: int, channels: int) -> nn.Module:
            return MixedOp([ops[op](channels) for op in space.choices], slot, self.controller)

        params = space.architecture((0,) * space.slots)["params"]
        if space.family == nb201.FAMILY:
            cell = nb201.parse(params)
            self.network: nn.Module = nb201.NB201Network(
                in_shape[0], num_classes, mixed, cell.cells_per_stage, cell.channels)
        else:
            chain = macro_cnn.parse(params)
            self.network = macro_cnn.MacroCNN(in_shape[0], num_classes, chain.depth,
                                              chain.width, mixed, chain.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)

    def parameter_free(self) -> list[bool]:
        """Per choice: whether its op has no weights (none, skip, pooling)."""
        slot = next(m for m in self.modules() if isinstance(m, MixedOp))
        return [next(op.parameters(), None) is None for op in slot.ops]
