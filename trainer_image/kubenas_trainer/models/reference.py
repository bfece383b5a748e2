"""Hand-designed baselines, trained by the same trainer so searched networks can be judged.

Each keeps its published layout, adapted to 8x8 (digits) and 28x28 (MNIST) inputs as the
literature does for small images; `width_multiplier` scales every layer's channels:
- `lenet5`: LeNet-5 (LeCun et al. 1998): conv5x5(6)-tanh-avgpool, conv5x5(16)-tanh-avgpool,
  FC 120-84-classes. C1 pads by 2, which turns 28x28 into the paper's 32x32 view; C3 pads
  too when its input is under 5x5 (8x8 digits), and the first FC takes whatever map is left.
- `vgg_small`: the CIFAR VGG-Small of the quantization literature (LQ-Nets): 2x conv3x3(128),
  maxpool, 2x conv3x3(256), maxpool, 2x conv3x3(512), maxpool, linear, with BN-ReLU. Pools
  use ceil mode, so 8x8 ends at 1x1 and 28x28 at 4x4.
- `mobilenet_v2`: MobileNetV2's published block table (Sandler et al. 2018), ReLU6, 1280
  head channels, dropout 0.2. Inputs of 32 px or less drop the stem's stride and the
  24-channel stage's stride (as CIFAR ports do), for an output stride of 8 instead of 32.
- `resnet8`: the CIFAR ResNet family (He et al. 2016) at n=1: conv3x3(16), three stages of
  one basic block (16, 32, 64 channels, strides 1, 2, 2), global pooling, linear; 1x1
  projection shortcuts where the shape changes, as in MLPerf Tiny's ResNet-8.
Every size is fixed at build time from the input shape, so the graphs export as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..catalog import REFERENCE
from ._params import parse_params
from .ops import ConvBN, InvertedResidual, make_divisible

FAMILY = REFERENCE.name

# (expansion t, channels c, blocks n, stride s), as in Table 2 of the MobileNetV2 paper.
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
SMALL_INPUT = 32  # at or below this size, MobileNetV2 keeps the resolution longer


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _pooled(size: int) -> int:
    """Size after a 2x2 pool with ceil mode."""
    return (size + 1) // 2


def lenet5(in_shape: tuple[int, int, int], num_classes: int, width: float) -> nn.Module:
    c1, c3, f5, f6 = (_scaled(c, width) for c in (6, 16, 120, 84))
    h, w = _pooled(in_shape[1]), _pooled(in_shape[2])
    pad = 2 if min(h, w) < 5 else 0
    h, w = _pooled(h + 2 * pad - 4), _pooled(w + 2 * pad - 4)
    return nn.Sequential(
        nn.Conv2d(in_shape[0], c1, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2, ceil_mode=True),
        nn.Conv2d(c1, c3, 5, padding=pad), nn.Tanh(), nn.AvgPool2d(2, ceil_mode=True),
        nn.Flatten(), nn.Linear(c3 * h * w, f5), nn.Tanh(), nn.Linear(f5, f6), nn.Tanh(),
        nn.Linear(f6, num_classes),
    )


def vgg_small(in_shape: tuple[int, int, int], num_classes: int, width: float) -> nn.Module:
    layers: list[nn.Module] = []
    channels, (h, w) = in_shape[0], in_shape[1:]
    for c in (128, 256, 512):
        c = _scaled(c, width)
        layers += [ConvBN(channels, c, 3), ConvBN(c, c, 3), nn.MaxPool2d(2, ceil_mode=True)]
        channels, h, w = c, _pooled(h), _pooled(w)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * h * w, num_classes))


def mobilenet_v2(in_shape: tuple[int, int, int], num_classes: int,
                 width: float) -> nn.Module:
    small = min(in_shape[1:]) <= SMALL_INPUT
    channels = make_divisible(32 * width)
    layers: list[nn.Module] = [ConvBN(in_shape[0], channels, 3, 1 if small else 2,
                                      act=nn.ReLU6)]
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        c_out = make_divisible(c * width)
        stride = 1 if small and c == 24 else s
        for block in range(n):
            layers.append(InvertedResidual(channels, c_out, 3, stride if block == 0 else 1, t,
                                           act=nn.ReLU6))
            channels = c_out
    head = make_divisible(1280 * max(1.0, width))
    return nn.Sequential(*layers, ConvBN(channels, head, 1, act=nn.ReLU6),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(head, num_classes))


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convs and a shortcut (1x1 projection if needed)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBN(c_in, c_out, 3, stride), ConvBN(c_out, c_out, 3,
                                                                          act=None))
        self.shortcut: nn.Module = nn.Identity() if stride == 1 and c_in == c_out else \
            ConvBN(c_in, c_out, 1, stride, act=None)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def resnet8(in_shape: tuple[int, int, int], num_classes: int, width: float) -> nn.Module:
    channels = _scaled(16, width)
    layers: list[nn.Module] = [ConvBN(in_shape[0], channels, 3)]
    for c, stride in ((16, 1), (32, 2), (64, 2)):
        layers.append(BasicBlock(channels, _scaled(c, width), stride))
        channels = _scaled(c, width)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_classes))


# Keyed by exactly the catalog's network names (tests check that they agree).
NETWORKS: dict[str, Callable[[tuple[int, int, int], int, float], nn.Module]] = {
    "lenet5": lenet5,
    "vgg_small": vgg_small,
    "mobilenet_v2": mobilenet_v2,
    "resnet8": resnet8,
}


@dataclass(frozen=True)
class ReferenceSpec:
    """Validated reference params."""

    network: str
    width_multiplier: float


def parse(params: Mapping[str, Any]) -> ReferenceSpec:
    """Validate architecture params (catalog.REFERENCE); raise ValueError naming the bad one."""
    values = parse_params(FAMILY, params)
    return ReferenceSpec(values["network"], values["width_multiplier"])


def build(params: Mapping[str, Any], in_shape: tuple[int, int, int],
          num_classes: int) -> nn.Module:
    """Build the named baseline; raise ValueError on bad params."""
    spec = parse(params)
    return NETWORKS[spec.network](in_shape, num_classes, spec.width_multiplier)
