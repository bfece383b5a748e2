"""A mobile search space in the style of MnasNet and ProxylessNAS, for edge devices.

Layout: the input average-pooled by `input_downscale` (so 28x28 MNIST can be searched at
14x14), a 3x3 stem conv, `catalog.STAGES` stages of inverted-residual blocks, a 1x1 head
conv, global average pooling and a linear classifier. Stage channels follow MnasNet
(16 stem, then 24, 40, 80, 160; head 4x the last stage), scaled by `width_multiplier` and
rounded to multiples of 8 as in MobileNetV2. The stem keeps the resolution (inputs here are
8x8 to 28x28, not 224x224) and stages stride 1, 2, 2, 2: padded strides take 8x8 digits to
1x1 and 28x28 MNIST to 4x4, never below 1x1. Each stage's first block strides and changes
channels; the others keep both and add a residual. Searched per stage, as in MnasNet's
factorized hierarchical space: depth, depthwise kernel, expansion ratio and SE on/off.

Why per-stage choices are catalog int and bool lists (`kernel: [3, 5, 7, 3]`) and not op
names such as ProxylessNAS's `mb6_k5`: a manifest then searches them with the existing
`choice: [3, 5, 7]` plus `repeat: 4`, each factor is sampled, mutated and crossed over on
its own (one op name would tie kernel to expansion), and the operator checks the values
against the catalog like any other. For export, every shape decision (residuals, pooling
sizes) is made at build time from the input shape: the graph has no data-dependent branch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..catalog import MOBILENET
from ._params import parse_params
from .ops import ConvBN, InvertedResidual, make_divisible

FAMILY = MOBILENET.name
STEM = 16
STAGE_CHANNELS = (24, 40, 80, 160)
STAGE_STRIDES = (1, 2, 2, 2)
HEAD_RATIO = 4


@dataclass(frozen=True)
class MobileNetSpec:
    """Validated mobilenet params: one depth, kernel, expansion and SE flag per stage."""

    depth: list[int]
    kernel: list[int]
    expansion: list[int]
    se: list[bool]
    width_multiplier: float
    input_downscale: int


def downscale(factor: int, height: int, width: int) -> nn.Module:
    """Average pooling by factor (ceil mode: no pixel dropped), capped at the input size."""
    if factor == 1:
        return nn.Identity()
    kernel = (min(factor, height), min(factor, width))
    return nn.AvgPool2d(kernel, kernel, ceil_mode=True)


class MobileNet(nn.Module):
    """The network described in the module docstring."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int,
                 spec: MobileNetSpec) -> None:
        super().__init__()
        scale = spec.width_multiplier
        channels = make_divisible(STEM * scale)
        layers: list[nn.Module] = [
            downscale(spec.input_downscale, in_shape[1], in_shape[2]),
            ConvBN(in_shape[0], channels, 3),
        ]
        for stage, (c_out, stride) in enumerate(zip(STAGE_CHANNELS, STAGE_STRIDES,
                                                    strict=True)):
            c_out = make_divisible(c_out * scale)
            for block in range(spec.depth[stage]):
                layers.append(InvertedResidual(channels, c_out, spec.kernel[stage],
                                               stride if block == 0 else 1,
                                               spec.expansion[stage], spec.se[stage]))
                channels = c_out
        head = make_divisible(STAGE_CHANNELS[-1] * HEAD_RATIO * scale)
        layers += [ConvBN(channels, head, 1), nn.AdaptiveAvgPool2d(1)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def parse(params: Mapping[str, Any]) -> MobileNetSpec:
    """Validate architecture params (catalog.MOBILENET); raise ValueError naming the bad one."""
    v = parse_params(FAMILY, params)
    return MobileNetSpec(v["depth"], v["kernel"], v["expansion"], v["se"],
                         v["width_multiplier"], v["input_downscale"])


def build(params: Mapping[str, Any], in_shape: tuple[int, int, int],
          num_classes: int) -> MobileNet:
    """Build a MobileNet from architecture params; raise ValueError on bad params."""
    return MobileNet(in_shape, num_classes, parse(params))
