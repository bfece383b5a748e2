"""A plain chain-structured CNN: one searchable op per layer (the "macro" search space).

Layout: stem conv to `width` channels, `depth` shape-keeping layers, one reduction
(stride 2, channels doubled) before the middle layer, global average pool, linear head.
Adaptive pooling and padded strides keep it valid down to 1x1 inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..catalog import MACRO_CNN
from ._params import parse_params
from .ops import ConvBNReLU, SepConvBNReLU

FAMILY = MACRO_CNN.name

# Keyed by exactly the catalog's op names (tests check that they agree).
OPS: dict[str, Callable[[int], nn.Module]] = {
    "conv3x3": lambda c: ConvBNReLU(c, c, 3),
    "conv5x5": lambda c: ConvBNReLU(c, c, 5),
    "sep_conv3x3": lambda c: SepConvBNReLU(c, 3),
    "sep_conv5x5": lambda c: SepConvBNReLU(c, 5),
    "max_pool3x3": lambda c: nn.MaxPool2d(3, 1, 1),
    "skip": lambda c: nn.Identity(),
}

# Builds searchable layer i at `channels` channels: (i, channels) -> module. A plain network
# builds OPS[ops[i]]; a supernet builds a mixed op there.
LayerFactory = Callable[[int, int], nn.Module]


def fixed_layers(ops: list[str]) -> LayerFactory:
    """The layer factory of one architecture: layer i is OPS[ops[i]]."""
    return lambda i, channels: OPS[ops[i]](channels)


class MacroCNN(nn.Module):
    """The chain CNN described in the module docstring."""

    def __init__(self, in_channels: int, num_classes: int, depth: int, width: int,
                 layer: LayerFactory, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU(in_channels, width, 3)]
        channels = width
        for index in range(depth):
            if depth > 1 and index == depth // 2:
                layers.append(ConvBNReLU(channels, channels * 2, 3, stride=2))
                channels *= 2
            layers.append(layer(index, channels))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.head(self.dropout(x))


@dataclass(frozen=True)
class MacroCNNSpec:
    """Validated macro_cnn params."""

    depth: int
    width: int
    ops: list[str]
    dropout: float


def parse(params: Mapping[str, Any]) -> MacroCNNSpec:
    """Validate architecture params (catalog.MACRO_CNN); raise ValueError naming the bad one."""
    values = parse_params(FAMILY, params)
    return MacroCNNSpec(values["depth"], values["width"], values["op"], values["dropout"])


def build(params: Mapping[str, Any], in_shape: tuple[int, int, int], num_classes: int) -> MacroCNN:
    """Build a MacroCNN from architecture params; raise ValueError on bad params."""
    spec = parse(params)
    return MacroCNN(in_shape[0], num_classes, spec.depth, spec.width, fixed_layers(spec.ops),
                    spec.dropout)
