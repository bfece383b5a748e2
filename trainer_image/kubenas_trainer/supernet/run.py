"""The one-shot trial: train the supernet for the budget's epochs, derive, report.

It honours the trial contract like a normal trial: metrics and a log line every epoch, a
checkpoint every epoch (the supernet's and the method's state, both optimizers, RNGs and
the history, keyed by the architecture and the KUBENAS_SUPERNET input so a checkpoint of
another search is ignored), resume from it, and on CUDA the trainer's device path (data
on the device, bf16 autocast, channels_last). The result is the usual one, for the derived
architecture, plus a `supernet` object (docs/trial-contract.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .. import checkpoint
from ..catalog import EPOCH_METRICS
from ..contract import Contract, SupernetConfig
from ..data import Dataset
from ..metrics_server import TrialMetrics
from ..models import build_model
from ..oplist import OpListSpace, Path
from ..profile import LatencyProtocol, count_flops, count_params, measure_latency
from ..report import SCORE_DIGITS, build_result, fit, rounded
from ..train import EpochStats, Trainer
from .build import Supernet
from .derive import evolve
from .evaluate import PathEvaluator
from .methods import Darts, DrNAS, GradientMethod, Method, Spos

Log = Callable[[str], None]


def search(supernet: Supernet, contract: Contract, data: Dataset, device: torch.device,
           metrics: TrialMetrics, log: Log, warn: Log) -> dict[str, Any]:
    """Run the one-shot trial; return its result object."""
    config = contract.supernet
    assert config is not None
    if contract.export_dir:
        warn("KUBENAS_EXPORT_DIR is ignored by a one-shot search: it trains no single model")
    training = contract.training
    if training.compile:
        warn("KUBENAS_TRAINING.compile is ignored by a one-shot search (its graph changes "
             "every step)")
        training = dataclasses.replace(training, compile=False)
    cuda = device.type == "cuda"
    on_device = data.to(device, channels_last=cuda)
    supernet.to(device)
    if cuda:
        supernet.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    method, weight_data = _method(supernet, config, contract.seed, on_device,
                                  training.batch_size)
    trainer = Trainer(supernet, weight_data, training, device, contract.seed)
    evaluator = PathEvaluator(supernet, trainer, on_device.x_train)
    target = contract.target
    total_steps = target * trainer.steps_per_epoch
    key = {**contract.architecture, "supernet": config.as_json()}

    resumed_from, history = _resume(trainer, method, contract, key, data, warn)
    if resumed_from is not None:
        log(f"resumed from epoch {resumed_from} (step {trainer.step})")
        metrics.report(history[-1])
        metrics.epoch.set(trainer.epoch)
    while trainer.epoch < target:
        train_loss, samples, seconds = trainer.train_pass(total_steps,
                                                          before_step=method.before_step)
        val_loss, val_accuracy = evaluator(method.val_path(trainer.epoch))
        stats = EpochStats(train_loss, val_loss, val_accuracy, samples, seconds).metrics
        history.append(stats)
        metrics.report(stats)
        metrics.epoch_done(trainer.epoch, samples, stats["samples_per_second"])
        log(f"{contract.trial}: epoch {trainer.epoch}/{target} "
            + " ".join(f"{k}={v:.4g}" for k, v in stats.items()))
        if contract.checkpoint_dir:
            checkpoint.save_trial(contract.checkpoint_dir,
                                  {**trainer.state_dict(), "method": method.state_dict()}, key,
                                  data.in_shape, data.num_classes, history)

    outcome = derive(method, evaluator, config, contract.seed)
    space = supernet.space
    log(f"{contract.trial}: derived {space.searched(outcome.architecture)}")
    derived = build_model(space.family, space.architecture(outcome.architecture)["params"],
                          data.in_shape, data.num_classes).to(device)
    final = dict(history[-1])
    final.update(params=count_params(derived), flops=count_flops(derived, data.in_shape))
    latency = measure_latency(derived, data, device, LatencyProtocol.of(training))
    final["latency_ms"] = latency.ms
    metrics.report(final)
    curve = [epoch[contract.objective] for epoch in history] \
        if contract.objective in EPOCH_METRICS else []
    result = build_result(final, contract.budget, trainer.epoch, trainer.step, resumed_from,
                          contract.checkpoint_dir, curve, latency.protocol)
    result["supernet"] = outcome.report(space, config.method)
    return fit_candidates(result, warn)


def _method(supernet: Supernet, config: SupernetConfig, seed: int, data: Dataset,
            batch: int) -> tuple[Method, Dataset]:
    """The method, and the data its weight steps train on: for darts and drnas one half of
    the training split (split by the seed), the other half being the architecture's."""
    if config.method == "spos":
        return Spos(supernet, seed), data
    order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))
    order = order.to(data.x_train.device)
    weights, arch = order[:len(order) // 2], order[len(order) // 2:]
    cls = Darts if config.method == "darts" else DrNAS
    method = cls(supernet, config, seed, data.x_train[arch], data.y_train[arch], batch)
    half = dataclasses.replace(data, x_train=data.x_train[weights],
                               y_train=data.y_train[weights])
    return method, half


def _resume(trainer: Trainer, method: Method, contract: Contract, key: dict[str, Any],
            data: Dataset, warn: Log) -> tuple[int | None, list[dict[str, float]]]:
    """Load the furthest checkpoint of this very search: the trial's own or
    KUBENAS_RESUME_FROM's. Return the epoch resumed from and the history."""
    state = checkpoint.load_furthest((contract.checkpoint_dir, contract.resume_from), key,
                                     data.in_shape, data.num_classes)
    if state is None:
        return None, []
    for warning in trainer.load_state_dict(state):
        warn(warning)
    method.load_state_dict(state["method"])
    return trainer.epoch, list(state["history"])


@dataclass(frozen=True)
class Outcome:
    """What a search derived: the architecture, scored candidates (best first) and the
    method's per-slot weights of each choice."""

    architecture: Path
    candidates: list[tuple[Path, float]]
    weights: list[list[float]]
    weight_kind: str

    def report(self, space: OpListSpace, method: str) -> dict[str, Any]:
        """The result's `supernet` object: only the searched param, 4 significant digits."""
        return {
            "method": method,
            "architecture": space.searched(self.architecture),
            "candidates": [{"params": space.searched(p), "score": rounded(s, SCORE_DIGITS)}
                           for p, s in self.candidates],
            "weights": {space.param: [[rounded(w, SCORE_DIGITS) for w in row]
                                      for row in self.weights]},
            "weightKind": self.weight_kind,
        }


def derive(method: Method, evaluator: PathEvaluator, config: SupernetConfig,
           seed: int) -> Outcome:
    """darts, drnas: the architecture is the most probable path, the candidates the k most
    probable (both within the cap on parameter-free ops, methods.py), ordered by score.
    spos: evolution; the candidates are the k best scored paths.
    A score is the path's validation accuracy with the shared weights (evaluate.py)."""
    def score(path: Path) -> float:
        return evaluator(path)[1]

    if isinstance(method, GradientMethod):
        paths = method.derive(config.candidates)
        scored = sorted(((p, score(p)) for p in paths), key=lambda ps: -ps[1])
        return Outcome(paths[0], scored, method.probabilities().tolist(), method.weight_kind)
    space = evaluator.supernet.space
    found = evolve(score, space.slots, len(space.choices), config.population, config.cycles,
                   seed)
    ranked = sorted(found.items(), key=lambda ps: -ps[1])[:config.candidates]
    counts = [[0] * len(space.choices) for _ in range(space.slots)]
    for path in found:
        for slot, choice in enumerate(path):
            counts[slot][choice] += 1
    weights = [[c / len(found) for c in row] for row in counts]
    return Outcome(ranked[0][0], ranked, weights, method.weight_kind)


def fit_candidates(result: dict[str, Any], warn: Log) -> dict[str, Any]:
    """Drop candidates from the end while the result would not fit the termination message."""
    dropped = fit(result, result["supernet"]["candidates"])
    if dropped:
        warn(f"dropped the last {dropped} supernet candidates to fit the 4 KiB result")
    return result
