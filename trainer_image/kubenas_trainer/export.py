"""Export a trained model for serving: `model.onnx`, checked against PyTorch.

The exported graph takes raw images, as the dataset stores them (digits 0..16, 8-bit
images 0..255, as float32 N,C,H,W with any batch size), and applies the loader's own
preprocessing first: the source's scale (data.scale_of), then the training split's
per-channel normalisation. So it gives the trial's accuracy on raw inputs, with nothing
to re-implement, and runs without torch or this package (ONNX Runtime, or any ONNX
runtime). It goes through torch.export (`torch.onnx.export(..., dynamo=True)`), the
supported path now that TorchScript is deprecated. An export that ONNX Runtime does not
reproduce on the validation images is an error, never a silently wrong file.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import onnxrt
from .data import Dataset

MODEL_FILE = "model.onnx"
# ONNX Runtime must reproduce PyTorch's logits within this share of their largest magnitude
# (different kernels sum in different orders) and its accuracy within this many points.
LOGIT_TOLERANCE = 1e-3
ACCURACY_POINTS = 0.2


class ExportError(RuntimeError):
    """The model cannot be exported, or its export disagrees with it: exit 1, one line."""


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


def raw_input_model(model: nn.Module, data: Dataset) -> RawInputModel:
    """A CPU float32 copy of `model` in eval mode, behind `data`'s preprocessing."""
    trained = copy.deepcopy(model).cpu().float().eval()
    return RawInputModel(trained, data.scale.factor, data.mean, data.std).eval()


def raw_images(data: Dataset, x: torch.Tensor) -> np.ndarray:
    """Undo the loader's normalisation and scale: the images as the source stored them."""
    shape = (1, -1, 1, 1)
    mean = np.asarray(data.mean, np.float32).reshape(shape)
    std = np.asarray(data.std, np.float32).reshape(shape)
    normalised = x.detach().cpu().float().numpy()
    return ((normalised * std + mean) / np.float32(data.scale.factor)).astype(np.float32)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Keep the exporter's notices out of the trial log: torch.onnx logs that torchvision's
    operators are skipped (they are never used here) and torch's pytree warns about its own
    deprecated LeafSpec, neither of which a trial's user can act on."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"`isinstance\(treespec, LeafSpec\)`",
                                    FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def to_onnx(module: nn.Module, in_shape: tuple[int, int, int], path: Path) -> Path:
    """Export `module` to ONNX at `path` with a dynamic batch dimension (input `images`,
    output `logits`). The example batch is 2: torch.export specialises a size-1 dimension."""
    batch = torch.export.Dim("batch")
    try:
        with _quiet_exporter(), torch.no_grad():
            program = torch.onnx.export(
                module, (torch.zeros(2, *in_shape),), dynamo=True, optimize=True,
                dynamic_shapes=({0: batch},), input_names=["images"],
                output_names=["logits"], verbose=False)
    except Exception as exc:  # the exporter raises many types; all mean the same here
        raise ExportError(f"cannot export the model to ONNX: {exc}") from exc
    if program is None:
        raise ExportError("cannot export the model to ONNX: the exporter returned nothing")
    # The exporter annotates every node with its Python stack trace and FX names: a
    # debugging aid that is most of a small model's file, and nothing a runtime reads.
    for node in program.model.graph.all_nodes():
        node.metadata_props.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(str(path))
    return path


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(logits.argmax(1) == labels))


def export_onnx(model: nn.Module, data: Dataset, directory: str) -> tuple[Path, float]:
    """Write `directory`/model.onnx, check it on the raw validation images and return its
    path and ONNX Runtime's accuracy there; raise ExportError when the check fails."""
    wrapped = raw_input_model(model, data)
    path = to_onnx(wrapped, data.in_shape, Path(directory) / MODEL_FILE)
    images, labels = raw_images(data, data.x_val), data.y_val.cpu().numpy()
    with torch.no_grad():
        expected = wrapped(torch.from_numpy(images)).numpy()
    actual = onnxrt.logits(onnxrt.open_session(path, torch.get_num_threads()), images)
    check_agreement(expected, actual, labels)
    return path, accuracy(actual, labels)


def check_agreement(expected: np.ndarray, actual: np.ndarray, labels: np.ndarray) -> None:
    """ONNX Runtime's logits and accuracy must match PyTorch's (the module's constants)."""
    if actual.shape != expected.shape:
        raise ExportError(f"the ONNX model returns logits of shape {list(actual.shape)}, "
                          f"PyTorch {list(expected.shape)}")
    allowed = LOGIT_TOLERANCE * max(1.0, float(np.abs(expected).max()))
    difference = float(np.abs(actual - expected).max())
    if not difference <= allowed:  # also catches NaN
        raise ExportError(f"the ONNX model disagrees with PyTorch on the validation images: "
                          f"logits differ by up to {difference:.3g} (allowed {allowed:.3g})")
    points = 100 * abs(accuracy(actual, labels) - accuracy(expected, labels))
    if points > ACCURACY_POINTS:
        raise ExportError(f"the ONNX model's validation accuracy "
                          f"{accuracy(actual, labels):.2%} differs from PyTorch's "
                          f"{accuracy(expected, labels):.2%} by {points:.2f} points "
                          f"(allowed {ACCURACY_POINTS})")


def input_contract(data: Dataset) -> dict[str, Any]:
    """What the exported model takes: raw images of this dtype, shape and value range."""
    c, h, w = data.in_shape
    value_range = data.scale.value_range
    return {
        "name": "images",
        "dtype": "float32",
        "shape": ["N", c, h, w],
        "layout": "NCHW",
        "range": None if value_range is None else list(value_range),
        "scale": data.scale.factor,
        "mean": data.mean,
        "std": data.std,
        "preprocessing": "built in: the model computes (x * scale - mean) / std per channel",
    }


def output_contract(data: Dataset) -> dict[str, Any]:
    """What it returns: logits, whose argmax over the last dimension indexes `classes`."""
    return {"name": "logits", "kind": "logits", "shape": ["N", data.num_classes]}
