"""The NAS-Bench-201 network: one searchable 4-node cell repeated over three stages.

Matches the NB201 reference layout (stem conv3x3+BN, N cells per stage with residual
reduction blocks between stages, channels C-2C-4C, BN-ReLU-GAP-linear head) so results
are comparable with the benchmark; `cells_per_stage` and `channels` can shrink it for
small budgets. Reductions pool with ceil_mode so tiny inputs never shrink below 1x1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..catalog import NB201
from ._params import parse_params
from .ops import ReLUConvBN, Zero

FAMILY = NB201.name

# Keyed by exactly the catalog's op names (tests check that they agree).
OPS: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda c: Zero(),
    "skip_connect": lambda c: nn.Identity(),
    "nor_conv_1x1": lambda c: ReLUConvBN(c, c, 1),
    "nor_conv_3x3": lambda c: ReLUConvBN(c, c, 3),
    "avg_pool_3x3": lambda c: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
}

# Edge k connects node EDGES[k][1] -> node EDGES[k][0]: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

# Builds the module of edge k at `channels` channels: (k, channels) -> module. A plain network
# builds OPS[edges[k]]; a supernet builds a mixed op there.
EdgeFactory = Callable[[int, int], nn.Module]


def fixed_edges(edges: list[str]) -> EdgeFactory:
    """The edge factory of one architecture: edge k is OPS[edges[k]]."""
    return lambda k, channels: OPS[edges[k]](channels)


class Cell(nn.Module):
    """A DAG of 4 nodes: node j is the sum of every edge op applied to an earlier node."""

    def __init__(self, channels: int, edge: EdgeFactory) -> None:
        super().__init__()
        self.edges = nn.ModuleList(edge(k, channels) for k in range(len(EDGES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            node = torch.zeros_like(x)
            for edge, (to, source) in zip(self.edges, EDGES, strict=True):
                if to == target:
                    node = node + edge(nodes[source])
            nodes.append(node)
        return nodes[3]


class ResidualReduction(nn.Module):
    """NB201's ResNet basic block with stride 2 that doubles channels between stages."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, 2, ceil_mode=True), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem, three stages of cells with reductions between them, and the head."""

    def __init__(self, in_channels: int, num_classes: int, edge: EdgeFactory,
                 cells_per_stage: int, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        ]
        c = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, c * 2))
                c *= 2
            layers.extend(Cell(c, edge) for _ in range(cells_per_stage))
        layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


@dataclass(frozen=True)
class NB201Spec:
    """Validated nb201 params."""

    edges: list[str]
    cells_per_stage: int
    channels: int


def parse(params: Mapping[str, Any]) -> NB201Spec:
    """Validate architecture params (catalog.NB201); raise ValueError naming the bad one."""
    values = parse_params(FAMILY, params)
    return NB201Spec(values["edges"], values["cells_per_stage"], values["channels"])


def build(params: Mapping[str, Any], in_shape: tuple[int, int, int],
          num_classes: int) -> NB201Network:
    """Build an NB201 network from architecture params; raise ValueError on bad params."""
    spec = parse(params)
    return NB201Network(in_shape[0], num_classes, fixed_edges(spec.edges),
                        spec.cells_per_stage, spec.channels)
