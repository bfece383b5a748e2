"""The run directory's trial history, `trials.jsonl`: one record per trial, rewritten whole.

The history is all the engine needs to continue, so `kubenas run` on the same directory
picks up where an interrupted run stopped; a run of a different experiment is refused
rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubenas.api.types import Experiment
from kubenas.api.trials import Trial, trial_name

HISTORY = "trials.jsonl"


def fingerprint(exp: Experiment) -> str:
    """What must not change for a history to stay valid: space, objective, strategy."""
    frozen = {k: exp.spec.get(k) for k in ("searchSpace", "objective", "strategy", "fidelity")}
    return hashlib.sha256(json.dumps(frozen, sort_keys=True).encode()).hexdigest()[:16]


def to_record(exp: Experiment, trial: Trial) -> dict[str, Any]:
    return {
        "name": trial_name(exp.name, trial.index), "index": trial.index,
        "architecture": dict(trial.arch), "budget": trial.budget, "rung": trial.rung,
        "parent": trial.parent, "phase": trial.phase, "metrics": dict(trial.metrics),
        "reason": trial.reason, "message": trial.message, "curve": list(trial.curve),
        "attempt": trial.attempt, "startedAt": trial.started_at, "finishedAt": trial.finished_at,
        "experiment": fingerprint(exp),
    }


def from_record(record: dict[str, Any]) -> Trial:
    return Trial(index=record["index"], arch=record["architecture"], budget=record["budget"],
                 rung=record["rung"], parent=record["parent"], phase=record["phase"],
                 metrics=record["metrics"], reason=record["reason"], message=record["message"],
                 curve=tuple(record["curve"]), attempt=record["attempt"],
                 started_at=record["startedAt"], finished_at=record["finishedAt"])


def save(run_dir: Path, exp: Experiment, trials: Sequence[Trial]) -> None:
    """Write atomically, so a crash mid-write never leaves a torn history."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / (HISTORY + ".tmp")
    tmp.write_text("".join(json.dumps(to_record(exp, t), sort_keys=True) + "\n"
                           for t in trials))
    os.replace(tmp, run_dir / HISTORY)


class HistoryMismatch(ValueError):
    pass


def load(run_dir: Path, exp: Experiment) -> list[Trial]:
    """Trials of an earlier run of this experiment; those cut short will run again."""
    path = run_dir / HISTORY
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if any(r.get("experiment") != fingerprint(exp) for r in records):
        raise HistoryMismatch(
            f"{path} holds trials of a different search (searchSpace, objective, strategy or "
            "fidelity changed); use another --out or pass --fresh to discard them")
    trials = [from_record(r) for r in records]
    return [t.with_(phase="Pending", attempt=t.attempt + 1) if t.active else t for t in trials]
