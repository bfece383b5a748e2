"""Export a trained model for serving: TorchScript `model.pt` plus `architecture.json`.

The exported module takes raw images, as the dataset stores them (digits 0..16, 8-bit
images 0..255, as float32 N,C,H,W), and applies the loader's own preprocessing first: the
source's scale (data.scale_of), then the training split's per-channel normalisation. So it
gives the trial's accuracy on raw inputs, with nothing to re-implement. TorchScript via
tracing loads without this package (`torch.jit.load`); `architecture.json` records the
input contract, the classes and the architecture.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data import Dataset


class RawInputModel(nn.Module):
    """A trained model behind the data loader's preprocessing: raw images in, logits out."""

    scale: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, model: nn.Module, scale: float, mean: list[float],
                 std: list[float]) -> None:
        super().__init__()
        self.model = model
        shape = (1, -1, 1, 1)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The same float32 operations, in the same order, as data._build.
        return self.model((x * self.scale - self.mean) / self.std)


def _trace(module: nn.Module, in_shape: tuple[int, int, int]) -> torch.jit.ScriptModule:
    """Trace with batch 1, then check the trace on another batch size.

    torch.jit.trace's own check_trace compares with torch.testing.assert_close, which
    imports torch.distributed and sympy (about 1 s per trial); this check costs two
    forward passes and also catches a trace that baked in its batch size.
    """
    traced = torch.jit.trace(module, torch.zeros(1, *in_shape), check_trace=False)
    probe = torch.randn(2, *in_shape, generator=torch.Generator().manual_seed(0))
    expected, actual = module(probe), traced(probe)
    if actual.shape != expected.shape or not torch.allclose(actual, expected, rtol=1e-4,
                                                            atol=1e-5):
        raise RuntimeError("the traced model disagrees with the trained one")
    return traced


def input_contract(data: Dataset) -> dict[str, Any]:
    """What the exported model takes: raw images of this dtype, shape and value range."""
    c, h, w = data.in_shape
    value_range = data.scale.value_range
    return {
        "dtype": "float32",
        "shape": ["N", c, h, w],
        "layout": "NCHW",
        "range": None if value_range is None else list(value_range),
        "scale": data.scale.factor,
        "mean": data.mean,
        "std": data.std,
        "preprocessing": "built in: the model computes (x * scale - mean) / std per channel",
    }


def export_model(model: nn.Module, data: Dataset, architecture: dict[str, Any],
                 directory: str) -> Path:
    """Write model.pt and architecture.json to `directory`; return the model path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    trained = copy.deepcopy(model).cpu().float().eval()
    wrapped = RawInputModel(trained, data.scale.factor, data.mean, data.std).eval()
    with torch.no_grad():
        traced = _trace(wrapped, data.in_shape)
    model_path = out / "model.pt"
    traced.save(str(model_path))
    meta = {
        "architecture": architecture,
        "input": input_contract(data),
        # argmax over the last dimension indexes `classes`
        "output": {"kind": "logits", "shape": ["N", data.num_classes]},
        "classes": data.classes,
        "num_classes": data.num_classes,
        "input_shape": list(data.in_shape),
    }
    (out / "architecture.json").write_text(json.dumps(meta, indent=2) + "\n")
    return model_path
