"""Cost metrics of a trained model (params, FLOPs, latency) for multi-objective search.

Measured, not estimated: FLOPs come from torch's FlopCounterMode (matmuls and convs,
2 FLOPs per multiply-add). Latency follows a fixed, declared protocol so numbers compare
across trials and machines: batch 1, warm-up passes, the median of N timed passes, pinned
threads and a named runtime, all recorded next to the number.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import nodynamo, onnxrt
from .contract import TrainingConfig
from .data import Dataset
from .export import raw_input_model, to_onnx


def count_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, in_shape: tuple[int, int, int]) -> int:
    """FLOPs of one forward pass of one sample, on a CPU copy in eval mode."""
    return forward_flops(copy.deepcopy(model).cpu().float().eval(), in_shape)


def forward_flops(model: nn.Module, in_shape: tuple[int, ...]) -> int:
    """count_flops on the model itself (its device, dtype and mode), for one that may change:
    it saves the copy when the model is scored and discarded by the thousand."""
    counter = nodynamo.plain(FlopCounterMode)(display=False)
    device = next(model.parameters()).device
    with torch.no_grad(), counter:
        model(torch.zeros(1, *in_shape, device=device))
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class LatencyProtocol:
    """How latency is measured (catalog.TRAINING's latency* settings): which runtime, how
    many pinned CPU threads, how many untimed and timed batch-1 forward passes."""

    runtime: str
    threads: int
    warmup: int
    runs: int

    @classmethod
    def of(cls, config: TrainingConfig) -> LatencyProtocol:
        return cls(config.latency_runtime, config.latency_threads, config.latency_warmup,
                   config.latency_runs)

    def record(self, **details: Any) -> dict[str, Any]:
        """The protocol as the result and the model card report it, next to the number."""
        return {"runtime": self.runtime, **details, "batch_size": 1, "threads": self.threads,
                "warmup_runs": self.warmup, "timed_runs": self.runs, "statistic": "median"}


@dataclass(frozen=True)
class Latency:
    """A measured latency in ms and the protocol that measured it."""

    ms: float
    protocol: dict[str, Any]


def median_ms(call: Callable[[], object], warmup: int, runs: int) -> float:
    """The median wall time in ms of `runs` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure_latency(model: nn.Module, data: Dataset, device: torch.device,
                    protocol: LatencyProtocol, onnx_model: Path | None = None) -> Latency:
    """Latency of one batch-1 forward pass under `protocol`. On ONNX Runtime it times
    `onnx_model` (the trial's export), else a temporary export of the same graph."""
    if protocol.runtime == "torch":
        return torch_latency(model, data.in_shape, device, protocol)
    if onnx_model is not None:
        return onnx_latency(onnx_model, data.in_shape, protocol)
    with tempfile.TemporaryDirectory() as tmp:
        path = to_onnx(raw_input_model(model, data), data.in_shape, Path(tmp) / "model.onnx")
        return onnx_latency(path, data.in_shape, protocol)


def torch_latency(model: nn.Module, in_shape: tuple[int, int, int], device: torch.device,
                  protocol: LatencyProtocol) -> Latency:
    """PyTorch eager on `device` with torch's intra-op threads pinned (then restored): float32
    on CPU, bf16 autocast with channels_last on CUDA, as the trial trained."""
    cuda = device.type == "cuda"
    probe = model.eval() if cuda else copy.deepcopy(model).cpu().float().eval()
    x = torch.zeros(1, *in_shape, device=device if cuda else "cpu")
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)
    autocast: AbstractContextManager[object] = (
        torch.autocast("cuda", dtype=torch.bfloat16) if cuda else nullcontext()
    )

    def forward() -> None:
        probe(x)
        if cuda:
            torch.cuda.synchronize()

    previous = torch.get_num_threads()
    torch.set_num_threads(protocol.threads)
    try:
        if cuda:
            torch.cuda.synchronize()
        with torch.no_grad(), autocast:
            ms = median_ms(forward, protocol.warmup, protocol.runs)
    finally:
        torch.set_num_threads(previous)
    details = {"version": torch.__version__, "device": device.type,
               "precision": "bfloat16" if cuda else "float32",
               "layout": "channels_last" if cuda else "NCHW"}
    return Latency(ms, protocol.record(**details))


def onnx_latency(path: Path, in_shape: tuple[int, int, int],
                 protocol: LatencyProtocol) -> Latency:
    """ONNX Runtime's CPU execution provider on the ONNX graph at `path`, threads pinned."""
    session = onnxrt.open_session(path, protocol.threads)
    name = session.get_inputs()[0].name
    x = {name: np.zeros((1, *in_shape), np.float32)}
    ms = median_ms(lambda: session.run(None, x), protocol.warmup, protocol.runs)
    details = {"version": onnxrt.version(), "device": "cpu", "provider": onnxrt.PROVIDER,
               "inter_op_threads": 1, "model": path.name}
    return Latency(ms, replace(protocol, runtime="onnxruntime").record(**details))
