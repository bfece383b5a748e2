"""Run one experiment against a lookup table on a simulated clock.

This is the same loop every backend runs, with the table standing in for training:
ask the engine what to do, apply its creates and stops, advance the clock to the next trial
finish and fill that trial's metrics from its row. Nothing here knows which strategy runs.
A trial whose finish would cross `budget.maxDuration` never completes: the clock stops at
the limit, the engine ends the search (MaxDurationReached) and stops the trial.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kubenas.api.parse import ManifestError
from kubenas.api.trials import Trial, rank_key
from kubenas.api.types import Experiment, TabularSpec
from kubenas.api.validate import FieldError
from kubenas.backends.runs import history, manifest, results
from kubenas.backends.tabular.table import Table, load_for, table_path
from kubenas.engine.engine import Engine, NewTrial, Outcome
from kubenas.engine.status import pareto
from kubenas.space.space import SearchSpace


@dataclass(frozen=True)
class Run:
    """One finished simulated search."""

    trials: tuple[Trial, ...]
    rows: tuple[int, ...]
    best: Trial | None
    outcome: Outcome | None
    elapsed_s: float
    trajectory: tuple[tuple[float, int], ...]
    """(simulated time, table row of the best trial from then on), one entry per change."""

    def front(self, exp: Experiment) -> list[int]:
        """Table rows of the Pareto front the experiment status reports."""
        return [self.rows[t.index] for t in pareto(exp, self.trials)]


class Answers:
    """What each row reveals and costs at each budget level, as arrays."""

    def __init__(self, exp: Experiment, table: Table) -> None:
        tab: TabularSpec = exp.tabular  # type: ignore[assignment]
        self.table = table
        self.format = tab.key_format
        self.resume = tab.resume
        self.metrics = {f.level: {m: table.column(c) for m, c in f.metrics.items()}
                        for f in tab.fidelities}
        self.cost = {f.level: table.column(f.cost_column) * f.cost_scale
                     if f.cost_column is not None else np.full(len(table), float(f.cost or 0))
                     for f in tab.fidelities}
        self.static = {m: table.column(c) for m, c in tab.static_metrics.items()}
        self.report = {m: table.column(c) for m, c in tab.report_metrics.items()}

    def row(self, arch: dict[str, object]) -> int | None:
        return self.table.rows.get(self.format.format(**arch))

    def reported(self, row: int) -> dict[str, float]:
        """The metrics shown for the returned best only (never to the search)."""
        return {m: float(col[row]) for m, col in self.report.items()}

    def revealed(self, row: int, level: float) -> dict[str, float]:
        out = {m: float(col[row]) for m, col in self.static.items()}
        out.update({m: float(col[row]) for m, col in self.metrics[level].items()})
        return out


def simulate(exp: Experiment, answers: Answers | None = None,
             space: SearchSpace | None = None) -> Run:
    """Run the search of `exp` to its end, with trials answered from its table; runs over
    one space may share a SearchSpace (and so its caches)."""
    answers = answers or Answers(exp, load_for(exp))
    engine = Engine(exp, space)
    limit = exp.budget.max_duration_s
    trials: list[Trial] = []
    rows: list[int] = []
    running: list[tuple[float, int]] = []
    clock = 0.0
    best: Trial | None = None
    trajectory: list[tuple[float, int]] = []
    while True:
        decision = engine.decide(trials, elapsed_s=clock)
        for index, reason in decision.stop:
            trials[index] = trials[index].with_(phase="Stopped", reason=reason, finished_at=clock)
        if decision.outcome is not None:
            return Run(tuple(trials), tuple(rows), engine.best(trials), decision.outcome, clock,
                       tuple(trajectory))
        for new in decision.create:
            trial, row, finish = _start(new, trials, rows, answers, clock)
            trials.append(trial)
            rows.append(row)
            if finish is not None:
                heapq.heappush(running, (finish, new.index))
        if not running:
            if decision.create:
                continue
            return Run(tuple(trials), tuple(rows), engine.best(trials), None, clock,
                       tuple(trajectory))
        finish, index = running[0]
        if limit is not None and finish > limit:
            clock = limit
            continue
        heapq.heappop(running)
        clock = finish
        trial = trials[index]
        trials[index] = trial = trial.with_(
            phase="Succeeded", finished_at=clock,
            metrics=answers.revealed(rows[index], trial.budget))
        if best is None or rank_key(exp, trial) < rank_key(exp, best):
            best = trial
            trajectory.append((clock, rows[index]))


def _start(new: NewTrial, trials: list[Trial], rows: list[int], answers: Answers,
           clock: float) -> tuple[Trial, int, float | None]:
    trial = new.record().with_(phase="Running", started_at=clock)
    row = answers.row(new.arch)
    if row is None:
        failed = trial.with_(phase="Failed", reason="NotInTable", finished_at=clock,
                             message=f"no row for key {answers.format.format(**new.arch)!r}")
        return failed, -1, None
    cost = float(answers.cost[new.budget][row])
    if new.parent is not None and answers.resume:
        parent = trials[new.parent]
        cost -= float(answers.cost[parent.budget][rows[new.parent]])
    return trial, row, clock + max(cost, 0.0)



def answers_for(exp: Experiment) -> Answers:
    """The table's answers; a missing or unreadable table, or one without a column the
    manifest names, is a ManifestError on spec.tabular."""
    try:
        return Answers(exp, load_for(exp))
    except OSError as exc:
        problem = FieldError("spec.tabular.table", f"cannot read {table_path(exp)}: "
                                                   f"{exc.strerror or exc}")
    except KeyError as exc:
        problem = FieldError("spec.tabular", str(exc.args[0]))
    except (ValueError, IndexError, StopIteration) as exc:
        problem = FieldError("spec.tabular.table", f"{table_path(exp)} is not a CSV table "
                                                   f"with a header row: {exc!r}")
    raise ManifestError(exp.source, [problem])


def run_manifest(exp: Experiment, out: Path) -> int:
    """`kubenas run` on a tabular manifest: one simulated search, written like a local run."""
    answers = answers_for(exp)
    started = datetime.now(UTC)
    run = simulate(exp, answers)
    outcome = run.outcome or Outcome("Failed", "Stopped", "the simulation ended early")
    status = results.status(exp, run.trials, outcome, started=started,
                            finished=datetime.now(UTC))
    status["simulatedSeconds"] = run.elapsed_s
    if run.best is not None:
        status["reported"] = answers.reported(run.rows[run.best.index])
    history.save(out, exp, run.trials)
    manifest.save(out, exp)
    results.write_json(out / "result.json", status)
    print(f"kubenas: {exp.name}: {outcome.reason} after {len(run.trials)} trials and "
          f"{run.elapsed_s:.0f} simulated s; best reports {status.get('reported', {})}; "
          f"results in {out / 'result.json'}")
    return 0 if outcome.phase == "Succeeded" else 1
