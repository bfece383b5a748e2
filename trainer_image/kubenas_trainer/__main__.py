"""Entry point: read the contract, train, report; exit codes are part of the contract.

0: the trial finished and its result was written. 2: bad input (contract, architecture,
dataset), reported as one `kubenas-trainer: error: ...` line before any training.
143: stopped by SIGTERM, no result written. 1: a training failure, no result written:
a diverged training loss as one `kubenas-trainer: error: ...` line, anything else with
its traceback; an export that fails its check also as one line.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn

from . import checkpoint
from .bundle import write_bundle
from .catalog import EPOCH_METRICS
from .contract import Contract, load_contract
from .data import Dataset, describe, load_dataset
from .export import ExportError, export_onnx
from .metrics_server import TrialMetrics
from .models import build_model, check_architecture
from .oplist import OpListSpace
from .profile import LatencyProtocol, count_flops, count_params, measure_latency
from .report import build_result, emit, prepare_termination_log
from .supernet.build import Supernet
from .supernet.run import search
from .train import Diverged, Trainer, select_device
from .zerocost import Search, run_search, search_space, trial_metrics


class Terminated(BaseException):
    """Raised by the SIGTERM handler so the epoch in progress is abandoned at once."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _log(message: str) -> None:
    print(f"kubenas-trainer: {message}", flush=True)


def _warn(message: str) -> None:
    print(f"kubenas-trainer: warning: {message}", file=sys.stderr, flush=True)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _resume(trainer: Trainer, contract: Contract, data: Dataset) -> tuple[int | None, list[Any]]:
    """Load the furthest matching checkpoint: this trial's own (a retried attempt) or
    KUBENAS_RESUME_FROM's. Return the epoch resumed from and the per-epoch history."""
    state = checkpoint.load_furthest((contract.checkpoint_dir, contract.resume_from),
                                     contract.architecture, data.in_shape, data.num_classes)
    if state is None:
        return None, []
    for warning in trainer.load_state_dict(state):
        _warn(warning)
    return trainer.epoch, list(state["history"])


@dataclass(frozen=True)
class Trial:
    """A validated trial, ready to train."""

    contract: Contract
    data: Dataset
    model: nn.Module
    device: torch.device
    termination_log: str | None


def _prepare(argv: Sequence[str] | None, environ: Mapping[str, str],
             metrics: TrialMetrics) -> Trial | Search:
    """Everything that can fail on bad input, so it fails before any training."""
    contract, warnings = load_contract(argv, environ)
    for warning in warnings:
        _warn(warning)
    arch = contract.architecture
    space = None if contract.supernet is None else \
        OpListSpace.of(arch, contract.supernet.param, contract.supernet.choices)
    bulk = search_space(arch, contract.zero_cost)  # a bulk zero-cost search trains nothing
    if space is None and bulk is None:
        check_architecture(arch["family"], arch["params"])
    termination_log = prepare_termination_log(contract.termination_log,
                                              contract.termination_log_explicit)
    device = select_device(contract.training.device)
    metrics.serve(contract.metrics_host, contract.metrics_port)
    if contract.threads:
        torch.set_num_threads(contract.threads)
    _seed_everything(contract.seed)
    data = load_dataset(contract.training, contract.split_seed, contract.data_cache)
    _log(describe(data))
    if bulk is not None:
        return Search(contract, data, bulk, device, termination_log)
    model = build_model(arch["family"], arch["params"], data.in_shape, data.num_classes) \
        if space is None else Supernet(space, data.in_shape, data.num_classes)
    return Trial(contract, data, model, device, termination_log)


def _train(trial: Trial, metrics: TrialMetrics) -> None:
    contract, model, device = trial.contract, trial.model, trial.device
    cuda = device.type == "cuda"
    data = trial.data.to(device, channels_last=cuda)
    model.to(device)
    if cuda:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    zero_cost = trial_metrics(model, data, contract.zero_cost, contract.seed, _warn) \
        if contract.zero_cost else {}
    metrics.report(zero_cost)
    trainer = Trainer(model, data, contract.training, device, contract.seed)
    steps_mode = contract.resource == "steps"
    target = contract.target
    total_steps = target if steps_mode else target * trainer.steps_per_epoch

    def progress() -> int:
        return trainer.step if steps_mode else trainer.epoch

    resumed_from, history = _resume(trainer, contract, data)
    if resumed_from is not None:
        _log(f"resumed from epoch {resumed_from} (step {trainer.step})")
        metrics.report(history[-1])
        metrics.epoch.set(progress())

    while progress() < target:
        stats = trainer.run_epoch(total_steps, target - trainer.step if steps_mode else None)
        history.append(stats.metrics)
        metrics.report(stats.metrics)
        metrics.epoch_done(progress(), stats.samples, stats.metrics["samples_per_second"])
        _log(f"{contract.trial}: {contract.resource[:-1]} {progress()}/{target} "
             + " ".join(f"{k}={v:.4g}" for k, v in stats.metrics.items()))
        if contract.checkpoint_dir:
            checkpoint.save_trial(contract.checkpoint_dir, trainer.state_dict(),
                                  contract.architecture, data.in_shape, data.num_classes,
                                  history)

    final = dict(history[-1])
    final.update(params=count_params(model), flops=count_flops(model, data.in_shape),
                 **zero_cost)
    # Exported first, so an onnxruntime latency times the very file the trial exports.
    exported = export_onnx(model, trial.data, contract.export_dir) \
        if contract.export_dir else None
    latency = measure_latency(model, trial.data, device, LatencyProtocol.of(contract.training),
                              exported[0] if exported else None)
    final["latency_ms"] = latency.ms
    metrics.report(final)
    if contract.export_dir and exported:
        write_bundle(contract.export_dir, contract, trial.data, *exported, final, latency,
                     {"epochs_trained": trainer.epoch, "steps_trained": trainer.step})
    # A final-only objective (params, flops, latency_ms) has no per-epoch curve.
    curve = [epoch[contract.objective] for epoch in history] \
        if contract.objective in EPOCH_METRICS else []
    result = build_result(final, contract.budget, trainer.epoch, trainer.step, resumed_from,
                          contract.checkpoint_dir, curve, latency.protocol)
    emit(result, trial.termination_log)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one trial; return the process exit code (see the module docstring)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    metrics = TrialMetrics()
    try:
        try:
            trial = _prepare(argv, os.environ if environ is None else environ, metrics)
        except (ValueError, OSError) as exc:
            print(f"kubenas-trainer: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(trial, Search):  # a bulk zero-cost search (KUBENAS_ZEROCOST choices)
            emit(run_search(trial, metrics, _log, _warn), trial.termination_log)
        elif isinstance(trial.model, Supernet):  # a one-shot search (KUBENAS_SUPERNET)
            emit(search(trial.model, trial.contract, trial.data, trial.device, metrics, _log,
                        _warn), trial.termination_log)
        else:
            _train(trial, metrics)
        return 0
    except (Diverged, ExportError) as exc:
        print(f"kubenas-trainer: error: {exc}", file=sys.stderr)
        return 1
    except Terminated:
        print("kubenas-trainer: stopped by SIGTERM; no result written", file=sys.stderr)
        return 143
    finally:
        metrics.stop()
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
