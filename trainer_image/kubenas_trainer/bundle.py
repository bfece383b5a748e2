"""Complete the export folder around a checked model.onnx: the int8 copy and the card.

Every exported file is evaluated on the raw validation images and timed with ONNX Runtime
under the trial's thread and run counts, so the card compares the float and int8 models
on one protocol whichever runtime measured the trial's own latency_ms.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from . import onnxrt
from .card import build_card, model_entry, write_card
from .contract import Contract
from .data import Dataset
from .export import accuracy, input_contract, output_contract, raw_images
from .profile import Latency, LatencyProtocol, onnx_latency
from .quantize import CALIBRATION_IMAGES, quantize_int8
from .report import result_budget


def write_bundle(directory: str, contract: Contract, data: Dataset, onnx_model: Path,
                 onnx_accuracy: float, metrics: dict[str, float | int], latency: Latency,
                 trained: dict[str, Any]) -> None:
    """Quantise if asked, then write the model card to `directory`; `data` on the CPU."""
    protocol = replace(LatencyProtocol.of(contract.training), runtime="onnxruntime")
    float_latency = latency if latency.protocol["runtime"] == "onnxruntime" else \
        onnx_latency(onnx_model, data.in_shape, protocol)
    models = [model_entry(onnx_model, "float32", onnx_accuracy, float_latency.ms)]
    if contract.export.quantize == "int8":
        threads = torch.get_num_threads()
        calibration = raw_images(data, data.x_train[:CALIBRATION_IMAGES])
        quantized = quantize_int8(onnx_model, calibration, directory, threads)
        session = onnxrt.open_session(quantized.path, threads)
        int8_accuracy = accuracy(onnxrt.logits(session, raw_images(data, data.x_val)),
                                 data.y_val.numpy())
        models.append(model_entry(quantized.path, "int8", int8_accuracy,
                                  onnx_latency(quantized.path, data.in_shape, protocol).ms,
                                  quantization=quantized.method))
    training = {"dataset": contract.training.dataset, "budget": result_budget(contract.budget),
                "resource": contract.resource, **trained, "seed": contract.seed,
                "split_seed": contract.split_seed, "train_samples": len(data.x_train),
                "validation_samples": len(data.x_val)}
    write_card(directory, build_card(
        trial=contract.trial, architecture=contract.architecture,
        found_by=contract.export.found_by, metrics=metrics, latency=latency.protocol,
        models=models, model_latency={**float_latency.protocol, "model": "each file"},
        inputs=input_contract(data), outputs=output_contract(data), classes=data.classes,
        training=training))
