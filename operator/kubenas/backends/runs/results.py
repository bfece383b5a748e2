"""What a finished run leaves behind: result.json, progress.png and the best model.

`result.json` mirrors the NASExperiment status the operator writes, so tools can read
either the same way. It is strict JSON: no NaN or infinity can be written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubenas.api.types import Experiment
from kubenas.engine.engine import Outcome
from kubenas.engine.status import summarize
from kubenas.space.space import SearchSpace
from kubenas.api.trials import Trial, objective_value


OUTPUTS = ("result.json", "progress.png", "best-model", "best-model.tmp")


def status(exp: Experiment, trials: Sequence[Trial], outcome: Outcome, *, started: datetime,
           finished: datetime, space: SearchSpace | None = None) -> dict[str, Any]:
    summary = summarize(exp, trials, space)
    done = sum(t.phase in ("Succeeded", "Failed", "Stopped") for t in trials)
    out: dict[str, Any] = {
        "phase": outcome.phase, "reason": outcome.reason, "message": outcome.message,
        "startTime": _iso(started), "completionTime": _iso(finished),
        "progress": f"{done}/{exp.budget.max_trials}",
        **summary,
    }
    best = summary.get("bestTrial")
    if best:
        out["bestValue"] = best["metrics"].get(exp.objective.primary.metric)
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write(run_dir: Path, exp: Experiment, trials: list[Trial], result: dict[str, Any]) -> None:
    write_json(run_dir / "result.json", result)
    plot_progress(exp, trials, run_dir / "progress.png")


def write_json(path: Path, value: Any) -> None:
    """Strict JSON, written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def plot_progress(exp: Experiment, trials: list[Trial], path: Path) -> None:
    """The objective of each finished trial in order, with the best so far."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objective = exp.objective.primary
    points = [(t.index, v, t.budget) for t in trials
              if (v := objective_value(exp, t)) is not None]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if points:
        for budget in sorted({b for _, _, b in points}):
            xs = [i for i, _, b in points if b == budget]
            ys = [v for _, v, b in points if b == budget]
            ax.scatter(xs, ys, s=22, alpha=0.7, label=f"budget {budget:g}")
        best, running = [], None
        for _, y, _ in points:
            running = y if running is None or objective.better(y, running) else running
            best.append(running)
        ax.step([i for i, _, _ in points], best, where="post", color="C3", label="best so far")
        ax.legend(loc="lower right" if objective.direction == "maximize" else "upper right")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective.metric)
    ax.set_title(f"{exp.name}: {objective.direction} {objective.metric}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
