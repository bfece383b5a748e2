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


def make_divisible(channels: float, divisor: int = 8) -> int:
    """MobileNetV2's channel rounding: nearest multiple of divisor, never 10% below."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


class ConvBN(nn.Sequential):
    """Conv-BN with an optional activation (none: the linear bottleneck of MobileNetV2)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: type[nn.Module] | None = nn.ReLU) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        super().__init__(*layers, *([act()] if act else []))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: rescale channels by a gate computed from their means."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, squeezed, 1), nn.ReLU(),
            nn.Conv2d(squeezed, channels, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (absent at ratio 1), depthwise kxk, optional SE
    (squeezed to a quarter of the input channels, as in MnasNet), linear 1x1 projection,
    and a residual when the shape is kept. Whether there is a residual is fixed at build
    time, so the exported graph has no branches."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expansion: int,
                 se: bool = False, act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = [ConvBN(c_in, hidden, 1, act=act)] if expansion != 1 else []
        layers.append(ConvBN(hidden, hidden, kernel, stride, groups=hidden, act=act))
        if se:
            layers.append(SqueezeExcite(hidden, max(1, c_in // 4)))
        layers.append(ConvBN(hidden, c_out, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out
