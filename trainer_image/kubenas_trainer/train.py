"""The training loop: whole-tensor batches, cosine LR over the budget, per-epoch eval.

The LR is a pure function of (step, total steps of this budget), so a trial resumed
from a smaller budget's checkpoint continues on the schedule of its own, larger budget.
On CUDA it trains in bf16 autocast with channels_last; on CPU in plain float32.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from . import nodynamo
from .contract import TrainingConfig
from .data import Dataset

EVAL_BATCH = 1024
# On CUDA the loss is checked for divergence every this many steps (each check syncs the
# device); on CPU, where a check costs nothing, after every step.
CUDA_DIVERGENCE_CHECK_STEPS = 16


class Diverged(RuntimeError):
    """The training loss became NaN or infinite: the trial stops with no result."""

    def __init__(self, epoch: int, step: int, train_loss: float) -> None:
        super().__init__(f"training diverged at epoch {epoch}, step {step} "
                         f"(train_loss={train_loss:g}); lower learningRate")


def select_device(name: str) -> torch.device:
    """Resolve `auto` to CUDA when present; asking for absent CUDA is bad input."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("KUBENAS_TRAINING.device is 'cuda' but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        torch.backends.cudnn.benchmark = True
    return torch.device(name)


def autocast(device: torch.device) -> AbstractContextManager[Any]:
    """bf16 autocast on CUDA, nothing on CPU (where the trainer runs plain float32)."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" \
        else nullcontext()


def cosine_lr(base: float, step: int, total: int) -> float:
    """Cosine decay from `base` at step 0 to 0 at step `total`."""
    return base * 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))


@dataclass(frozen=True)
class EpochStats:
    """What one epoch produced; `metrics` is what the trial reports for it."""

    train_loss: float
    val_loss: float
    val_accuracy: float
    samples: int
    seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        return {
            "val_accuracy": self.val_accuracy,
            "val_loss": self.val_loss,
            "train_loss": self.train_loss,
            "samples_per_second": self.samples / max(self.seconds, 1e-9),
        }


class Trainer:
    """Owns the model, optimizer and data order of one trial, and their resumable state."""

    def __init__(self, model: nn.Module, data: Dataset, config: TrainingConfig,
                 device: torch.device, seed: int) -> None:
        self.model = model
        self.data = data
        self.config = config
        self.device = device
        self.cuda = device.type == "cuda"
        self.batch = min(config.batch_size, len(data.x_train))
        self.steps_per_epoch = len(data.x_train) // self.batch  # drop the ragged last batch
        self.optimizer = build_optimizer(model.parameters(), config)
        self.generator = torch.Generator().manual_seed(seed)
        self.forward = torch.compile(model) if config.compile else model
        self.epoch = 0
        self.step = 0

    def run_epoch(self, total_steps: int, max_steps: int | None = None) -> EpochStats:
        """Train one pass over the data (or `max_steps` steps), then evaluate.

        Raise Diverged as soon as the training loss is seen to be non-finite.
        """
        train_loss, samples, seconds = self.train_pass(total_steps, max_steps)
        val_loss, val_accuracy = self.evaluate()
        return EpochStats(train_loss, val_loss, val_accuracy, samples, seconds)

    def train_pass(self, total_steps: int, max_steps: int | None = None,
                   before_step: Callable[[int], None] | None = None) -> tuple[float, int, float]:
        """Train one pass (or `max_steps` steps); return its train loss, samples and seconds.

        `before_step(i)` runs before the i-th step of the pass: a supernet uses it for its
        architecture step or to pick the path the step trains.
        """
        steps = self.steps_per_epoch if max_steps is None else min(max_steps,
                                                                   self.steps_per_epoch)
        order = torch.randperm(len(self.data.x_train), generator=self.generator).to(self.device)
        self.model.train()
        total_loss = torch.zeros((), device=self.device)
        start = time.perf_counter()
        for i in range(steps):
            index = order[i * self.batch:(i + 1) * self.batch]
            x, y = self.data.x_train[index], self.data.y_train[index]
            if self.cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            for group in self.optimizer.param_groups:
                group["lr"] = cosine_lr(self.config.learning_rate, self.step, total_steps)
            if before_step is not None:
                before_step(i)
            with autocast(self.device):
                loss = F.cross_entropy(self.forward(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total_loss += loss.detach()
            self.step += 1
            if not self.cuda or (i + 1) % CUDA_DIVERGENCE_CHECK_STEPS == 0:
                self._check_finite(total_loss.item() / (i + 1))
        train_loss = total_loss.item() / max(steps, 1)  # .item() also syncs CUDA for timing
        self._check_finite(train_loss)
        seconds = time.perf_counter() - start
        self.epoch += 1
        return train_loss, steps * self.batch, seconds

    def _check_finite(self, train_loss: float) -> None:
        if not math.isfinite(train_loss):
            raise Diverged(self.epoch + 1, self.step, train_loss)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Validation loss and accuracy (a fraction) over the whole validation split."""
        self.model.eval()
        x_val, y_val = self.data.x_val, self.data.y_val
        loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        for start in range(0, len(x_val), EVAL_BATCH):
            x, y = x_val[start:start + EVAL_BATCH], y_val[start:start + EVAL_BATCH]
            with autocast(self.device):
                logits = self.forward(x).float()
            loss += F.cross_entropy(logits, y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        return loss.item() / len(x_val), correct.item() / len(x_val)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly where this epoch ended."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_name": self.config.optimizer,
            "epoch": self.epoch,
            "step": self.step,
            "data_rng": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.cuda:
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> list[str]:
        """Restore from a checkpoint; return warnings for parts that could not be reused."""
        warnings = []
        self.model.load_state_dict(state["model"])
        if state.get("optimizer_name") == self.config.optimizer:
            self.optimizer.load_state_dict(state["optimizer"])
        else:
            warnings.append(f"checkpoint used optimizer {state.get('optimizer_name')!r}; "
                            f"starting a fresh {self.config.optimizer!r} optimizer")
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.generator.set_state(state["data_rng"])
        torch.set_rng_state(state["torch_rng"])
        if self.cuda and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        return warnings


def build_optimizer(params: Iterable[nn.Parameter],
                    config: TrainingConfig) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum (the NAS-benchmark default), or AdamW for `adam`."""
    if config.optimizer == "adam":
        return nodynamo.optimizer(torch.optim.AdamW, params, lr=config.learning_rate,
                              weight_decay=config.weight_decay)
    return nodynamo.optimizer(torch.optim.SGD, params, lr=config.learning_rate, momentum=0.9,
                          nesterov=True, weight_decay=config.weight_decay)

