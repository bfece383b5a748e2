"""A path's validation metrics with the supernet's shared weights.

Before each evaluation the batch-norm statistics are recomputed for that path from a fixed
sample of the training split (SPOS's recalibration): the running averages kept during
training mix many paths (or mixing weights) and misjudge any single one. The same samples
serve every path, so scores compare. Nothing else reads the running statistics (training
normalises with batch statistics), so they are left as the last evaluation set them.
"""

from __future__ import annotations

import torch
from torch import nn

from ..oplist import Path
from ..train import Trainer, autocast
from .build import Supernet

# Training samples the statistics are recomputed from, in one forward pass.
CALIBRATION_SAMPLES = 256


def recalibrate(supernet: Supernet, x: torch.Tensor) -> None:
    """Set every batch norm's running statistics to those of the current path on x."""
    norms = [m for m in supernet.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [norm.momentum for norm in norms]
    supernet.train()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average: exactly x's statistics
    with torch.no_grad(), autocast(x.device):
        supernet(x)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum


class PathEvaluator:
    """Validation loss and accuracy of paths, scored the same way every time."""

    def __init__(self, supernet: Supernet, trainer: Trainer, x_train: torch.Tensor) -> None:
        self.supernet = supernet
        self.trainer = trainer
        self.calibration = x_train[:CALIBRATION_SAMPLES]

    def __call__(self, path: Path) -> tuple[float, float]:
        self.supernet.controller.use_path(path)
        recalibrate(self.supernet, self.calibration)
        return self.trainer.evaluate()
