"""Cost metrics of a trained model (params, FLOPs, latency) for multi-objective search.

Measured, not estimated: FLOPs come from torch's FlopCounterMode (matmuls and convs,
2 FLOPs per multiply-add) and latency is the median of timed batch-1 forward passes.
"""

from __future__ import annotations

import copy
import statistics
import time
from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, in_shape: tuple[int, int, int]) -> int:
    """FLOPs of one forward pass of one sample, on a CPU copy in eval mode."""
    probe = copy.deepcopy(model).cpu().float().eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        probe(torch.zeros(1, *in_shape))
    return int(counter.get_total_flops())


def measure_latency_ms(model: nn.Module, in_shape: tuple[int, int, int], device: torch.device,
                       runs: int = 20, warmup: int = 3) -> float:
    """Median wall time in ms of a batch-1 forward pass on `device` (CPU unless CUDA)."""
    cuda = device.type == "cuda"
    probe = model.eval() if cuda else copy.deepcopy(model).cpu().float().eval()
    x = torch.zeros(1, *in_shape, device=device if cuda else "cpu")
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    autocast: AbstractContextManager[object] = (
        torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()
    )
    times = []
    with torch.no_grad(), autocast:
        for i in range(warmup + runs):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            probe(x)
            if cuda:
                torch.cuda.synchronize()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
