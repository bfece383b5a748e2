"""Optional int8 post-training quantisation of the exported graph, with ONNX Runtime.

Static quantisation in the QDQ format (QuantizeLinear/DequantizeLinear pairs around each
quantised operator, which every ONNX runtime can execute): int8 weights and activations,
activation ranges calibrated (MinMax) on raw training images, never validation ones, so
the int8 model's validation accuracy stays an honest estimate. Per-channel weight scales
usually help convolutions but can hurt tiny ones; both variants are built and the one whose
logits stay closer to the float model's on the calibration images is kept.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import onnxrt

INT8_FILE = "model.int8.onnx"
CALIBRATION_IMAGES = 300
CALIBRATION_BATCH = 32


@dataclass(frozen=True)
class Quantized:
    """The int8 model and how it was made (for the model card)."""

    path: Path
    per_channel: bool
    calibration_images: int

    @property
    def method(self) -> dict[str, Any]:
        return {"tool": f"onnxruntime {onnxrt.version()} quantize_static", "format": "QDQ",
                "weights": "int8, " + ("per-channel" if self.per_channel else "per-tensor"),
                "activations": "int8, per-tensor", "calibration": "MinMax",
                "calibration_images": self.calibration_images}


def quantize_int8(float_model: Path, calibration: np.ndarray, directory: str,
                  threads: int) -> Quantized:
    """Write `directory`/model.int8.onnx, calibrated on `calibration` (raw N,C,H,W images)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(range(0, len(calibration), CALIBRATION_BATCH))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self.batches, None)
            return None if start is None else {
                "images": calibration[start:start + CALIBRATION_BATCH]}

    reference = onnxrt.logits(onnxrt.open_session(float_model, threads), calibration)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Shape inference and graph optimisation first, as ONNX Runtime recommends.
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        errors = {}
        for per_channel in (True, False):
            candidate = Path(tmp) / f"int8-{per_channel}.onnx"
            quantize_static(str(prepared), str(candidate), Batches(),
                            quant_format=QuantFormat.QDQ, per_channel=per_channel,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
            output = onnxrt.logits(onnxrt.open_session(candidate, threads), calibration)
            errors[per_channel] = float(np.mean((output - reference) ** 2))
        per_channel = errors[True] <= errors[False]
        target = Path(directory) / INT8_FILE
        shutil.copyfile(Path(tmp) / f"int8-{per_channel}.onnx", target)
    return Quantized(target, per_channel, len(calibration))
