"""Export a trained model for serving: TorchScript `model.pt` plus `architecture.json`.

TorchScript via tracing loads without this package (`torch.jit.load`), and the JSON
carries what a caller needs to feed it: input shape, classes and normalisation.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data import Dataset


def export_model(model: nn.Module, data: Dataset, architecture: dict[str, Any],
                 directory: str) -> Path:
    """Write model.pt and architecture.json to `directory`; return the model path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    cpu_model = copy.deepcopy(model).cpu().float().eval()
    example = torch.zeros(1, *data.in_shape)
    with torch.no_grad():
        traced = torch.jit.trace(cpu_model, example)
    model_path = out / "model.pt"
    traced.save(str(model_path))
    meta = {
        "architecture": architecture,
        "input_shape": list(data.in_shape),
        "num_classes": data.num_classes,
        "classes": data.classes,
        "normalization": {"mean": data.mean, "std": data.std},
    }
    (out / "architecture.json").write_text(json.dumps(meta, indent=2) + "\n")
    return model_path
