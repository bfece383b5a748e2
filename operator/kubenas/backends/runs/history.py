"""The run folder's trial history, `trials.jsonl`: one record per trial, rewritten whole.

The history is all the engine needs to continue, so `kubenas run` on the same folder picks
up where an interrupted run stopped. A history of a different search (another space,
objective, strategy, fidelity schedule, training settings or trial template) is refused
rather than mixed in, naming what changed. Writes are atomic; a last line torn by a crash
of an older writer is dropped with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment

HISTORY = "trials.jsonl"
# What must not change under a history: it decides which trials exist and what they mean.
FROZEN = ("searchSpace", "objective", "strategy", "fidelity", "training", "trialTemplate")


class HistoryMismatch(ValueError):
    pass


@dataclass(frozen=True)
class History:
    trials: list[Trial]
    warnings: tuple[str, ...] = ()


def fingerprint(exp: Experiment) -> dict[str, str]:
    """A short hash of each frozen part of the spec."""
    return {k: hashlib.sha256(json.dumps(exp.spec.get(k), sort_keys=True).encode())
            .hexdigest()[:12] for k in FROZEN}


def to_record(exp: Experiment, trial: Trial) -> dict[str, Any]:
    return {
        "name": trial_name(exp.name, trial.index), "index": trial.index,
        "architecture": dict(trial.arch), "budget": trial.budget, "rung": trial.rung,
        "parent": trial.parent, "phase": trial.phase, "metrics": dict(trial.metrics),
        "reason": trial.reason, "message": trial.message, "curve": list(trial.curve),
        "attempt": trial.attempt, "startedAt": trial.started_at, "finishedAt": trial.finished_at,
        "kind": trial.kind, "request": trial.request, "derived": trial.derived,
        "fingerprint": fingerprint(exp),
    }


def from_record(record: dict[str, Any]) -> Trial:
    return Trial(index=record["index"], arch=record["architecture"], budget=record["budget"],
                 rung=record["rung"], parent=record["parent"], phase=record["phase"],
                 metrics=record["metrics"], reason=record["reason"], message=record["message"],
                 curve=tuple(record["curve"]), attempt=record["attempt"],
                 started_at=record["startedAt"], finished_at=record["finishedAt"],
                 kind=record.get("kind", "train"), request=record.get("request"),
                 derived=record.get("derived"))


def save(run_dir: Path, exp: Experiment, trials: Sequence[Trial]) -> None:
    """Write atomically, so a crash mid-write never leaves a torn history."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / (HISTORY + ".tmp")
    tmp.write_text("".join(json.dumps(to_record(exp, t), sort_keys=True, allow_nan=False)
                           + "\n" for t in trials))
    os.replace(tmp, run_dir / HISTORY)


def load(run_dir: Path, exp: Experiment) -> History:
    """Trials of an earlier run of this experiment; those cut short will run again."""
    path = run_dir / HISTORY
    if not path.exists():
        return History([])
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    trials: list[Trial] = []
    warnings: list[str] = []
    expected = fingerprint(exp)
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            trial = from_record(record)
        except (ValueError, KeyError, TypeError):
            if number == len(lines):  # the end of a write cut short
                warnings.append(f"{path}: dropped line {number}, which is not a whole trial "
                                "record (a write cut short); that trial runs again")
                break
            raise HistoryMismatch(f"{path}: line {number} is not a trial record; fix or delete "
                                  "the file, or pass --fresh to start over") from None
        changed = [k for k in FROZEN if record.get("fingerprint", {}).get(k) != expected[k]]
        if changed:
            raise HistoryMismatch(
                f"{path} holds trials of a different search (spec.{', spec.'.join(changed)} "
                "changed); use another --out, or pass --fresh to discard them")
        if trial.index != len(trials):
            raise HistoryMismatch(f"{path}: line {number} holds trial {trial.index}, expected "
                                  f"{len(trials)}; pass --fresh to start over")
        trials.append(trial.with_(phase="Pending", attempt=trial.attempt + 1)
                      if trial.active else trial)
    return History(trials, tuple(warnings))
