"""Cost metrics of a trained model (params, FLOPs, latency) for multi-objective search.

Measured, not estimated: FLOPs are counted on one batch-1 forward pass by forward hooks
on every convolution and linear layer (2 FLOPs per multiply-add, biases ignored, which is
what torch's FlopCounterMode reports for these models, without the torch._dynamo import
that FlopCounterMode triggers), and latency is the median of timed batch-1 forward passes.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def count_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_flops(module: nn.Module, output: torch.Tensor) -> int:
    """FLOPs of one call of a conv or linear layer that produced `output` (0 for others).

    Each output element of a convolution is a dot product over in_channels / groups
    input channels times the kernel; of a linear layer, over in_features.
    """
    if isinstance(module, _CONVS):
        macs_per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return 2 * output.numel() * macs_per_output
    if isinstance(module, nn.Linear):
        return 2 * output.numel() * module.in_features
    return 0


def count_flops(model: nn.Module, in_shape: tuple[int, int, int]) -> int:
    """FLOPs of one forward pass of one sample, on a CPU copy in eval mode."""
    probe = copy.deepcopy(model).cpu().float().eval()
    total = 0

    def count(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        total += layer_flops(module, output)

    hooks = [m.register_forward_hook(count) for m in probe.modules()
             if isinstance(m, (*_CONVS, nn.Linear))]
    try:
        with torch.no_grad():
            probe(torch.zeros(1, *in_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return total


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
