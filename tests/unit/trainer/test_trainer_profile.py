"""Cost metrics: FLOPs by forward hooks (checked by hand and against FlopCounterMode)."""

from __future__ import annotations

import pytest
import torch
from kubenas_trainer.models import build_model
from kubenas_trainer.profile import count_flops, count_params, measure_latency_ms
from torch import nn


class Shared(nn.Module):
    """A conv applied twice, and a grouped, strided conv without bias, then a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.grouped = nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3, bias=False)
        self.head = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.grouped(self.conv(self.conv(x)))
        return self.head(x.mean((2, 3)))


def test_flops_by_hand() -> None:
    # conv 3->3 3x3 on 10x10 (padding keeps 10x10), called twice: 300 outputs x 27 MACs each
    conv = 2 * (3 * 10 * 10) * (3 * 3 * 3) * 2
    # grouped 3->6, groups 3 (1 input channel per output), stride 2: 6x5x5 outputs x 9 MACs
    grouped = 2 * (6 * 5 * 5) * (1 * 3 * 3)
    head = 2 * 6 * 5  # bias ignored
    assert count_flops(Shared(), (3, 10, 10)) == conv + grouped + head == 35_160


@pytest.mark.parametrize("family,params,in_shape", [
    ("macro_cnn", {"depth": 6, "width": 8, "op": ["conv3x3", "conv5x5", "sep_conv3x3",
                                                  "sep_conv5x5", "max_pool3x3", "skip"]},
     (1, 8, 8)),
    ("macro_cnn", {"depth": 2, "width": 32, "op": ["conv3x3", "sep_conv3x3"]}, (3, 28, 28)),
    ("nb201", {"edges": ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                         "avg_pool_3x3", "nor_conv_3x3"], "cells_per_stage": 2, "channels": 8},
     (3, 16, 16)),
])
def test_flops_match_torch_flop_counter(family: str, params: dict,
                                        in_shape: tuple[int, int, int]) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(family, params, in_shape, 10).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *in_shape))
    expected = counter.get_total_flops()
    assert expected > 0
    assert count_flops(model, in_shape) == pytest.approx(expected, rel=1e-6)


def test_params_and_latency() -> None:
    model = Shared()
    assert count_params(model) == (3 * 27 + 3) + 6 * 9 + (6 * 5 + 5)
    assert measure_latency_ms(model, (3, 10, 10), torch.device("cpu"), runs=3, warmup=1) > 0
