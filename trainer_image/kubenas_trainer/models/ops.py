"""Building blocks shared by the model families.

Every block keeps the spatial size unless it says otherwise, so a family only has to
decide where it reduces resolution.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvBNReLU(nn.Sequential):
    """Conv-BN-ReLU, the classic post-activation block (macro CNN layers and stems)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class SepConvBNReLU(nn.Sequential):
    """Depthwise-separable conv: depthwise kxk then pointwise 1x1, then BN-ReLU."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, kernel, 1, kernel // 2, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )


class ReLUConvBN(nn.Sequential):
    """ReLU-Conv-BN, the pre-activation block NAS-Bench-201 uses on its edges."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The NB201 `none` edge: contributes nothing but keeps the graph shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)
