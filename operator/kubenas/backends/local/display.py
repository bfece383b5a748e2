"""Live progress for `kubenas run`: a progress bar, the running trials and a leaderboard on a
terminal, plain lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from kubenas.api.trials import DONE, Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.engine.status import ranked
from kubenas.space.space import SearchSpace

BOARD_ROWS = 5
RUNNING_ROWS = 8


def eta_s(exp: Experiment, trials: Sequence[Trial], now: float, elapsed_s: float,
          parallel: int) -> float | None:
    """Seconds left, from measured durations: what the running trials have left and the
    trials still to start, at the mean duration of the finished ones, `parallel` at a time,
    and never past budget.maxDuration. None until a trial has finished."""
    durations = [t.finished_at - t.started_at for t in trials if t.phase in DONE
                 and t.started_at is not None and t.finished_at is not None]
    if not durations:
        return None
    mean = sum(durations) / len(durations)
    running = [t for t in trials if t.phase == "Running"]
    left = sum(max(0.0, mean - (now - t.started_at)) for t in running
               if t.started_at is not None)
    done = sum(t.phase in DONE for t in trials)
    queued = max(0, exp.budget.max_trials - done - len(running))
    eta = (left + queued * mean) / max(1, parallel)
    if exp.budget.max_duration_s is not None:
        eta = min(eta, max(0.0, exp.budget.max_duration_s - elapsed_s))
    return eta


def duration_text(seconds: float) -> str:
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def _arch(trial: Trial) -> Text:
    """The architecture as plain text: a list such as [false,true] is not rich markup. A
    supernet or zerocost trial says what it searches instead."""
    if trial.kind == "supernet":
        return Text(f"supernet ({(trial.request or {}).get('method')}) over the whole space")
    if trial.kind == "zerocost":
        return Text(f"zero-cost screen of {(trial.request or {}).get('sample')} candidates "
                    f"({', '.join((trial.request or {}).get('proxies', []))})")
    return Text(json.dumps(dict(trial.arch), separators=(",", ":")))


class RichDisplay:
    """Progress bar (done/total, elapsed, ETA from measured trial durations), the running
    trials with their epoch and live metric, and a top-5 leaderboard, as wide as the
    terminal (the architecture column takes what is left)."""

    def __init__(self, exp: Experiment, console: Console | None = None,
                 space: SearchSpace | None = None, parallel: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.exp = exp
        self.space = space
        self.parallel = parallel or exp.budget.max_parallel
        self.clock = clock
        self.console = console or Console()
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("trials"),
                                 TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                                 console=self.console)
        self.task = self.progress.add_task(exp.name, total=exp.budget.max_trials,
                                           eta="ETA after the first trial")
        self.live = Live(Group(self.progress), console=self.console, refresh_per_second=4)

    def __enter__(self) -> RichDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def update(self, trials: list[Trial], elapsed_s: float) -> None:
        done = sum(t.phase in DONE for t in trials)
        running = sum(t.phase == "Running" for t in trials)
        now = self.clock()
        eta = eta_s(self.exp, trials, now, elapsed_s, self.parallel)
        self.progress.update(self.task, completed=done,
                             description=f"{self.exp.name} ({running} running)",
                             eta="ETA after the first trial" if eta is None
                             else f"ETA {duration_text(eta)}")
        parts: list[Any] = [self.progress]
        if running:
            parts.append(self._running(trials, now))
        parts.append(self._board(trials))
        self.live.update(Group(*parts))

    def _table(self, title: str, columns: Sequence[str]) -> Table:
        table = Table(title=title, title_justify="left", expand=True)
        for column in columns:
            table.add_column(column, no_wrap=True)
        table.add_column("architecture", no_wrap=True, overflow="ellipsis", ratio=1)
        return table

    def _running(self, trials: list[Trial], now: float) -> Table:
        metric = self.exp.objective.primary.metric
        table = self._table("running", ("trial", "epoch", metric, "for"))
        active = [t for t in trials if t.phase == "Running"]
        for t in active[:RUNNING_ROWS]:
            value = t.metrics.get(metric)
            table.add_row(trial_name(self.exp.name, t.index), f"{len(t.curve)}/{t.budget:g}",
                          "-" if value is None else f"{value:.4f}",
                          "" if t.started_at is None else duration_text(now - t.started_at),
                          _arch(t))
        if len(active) > RUNNING_ROWS:
            table.caption = f"and {len(active) - RUNNING_ROWS} more"
        return table

    def _board(self, trials: list[Trial]) -> Table:
        metric = self.exp.objective.primary.metric
        table = self._table("best so far", ("trial", "budget", metric))
        for t in ranked(self.exp, trials, self.space)[:BOARD_ROWS]:
            table.add_row(trial_name(self.exp.name, t.index), f"{t.budget:g}",
                          f"{t.metrics[metric]:.4f}",
                          _arch(t))
        return table


class PlainDisplay:
    """One line per finished trial, for logs."""

    def __init__(self, exp: Experiment, console: Console | None = None) -> None:
        self.exp = exp
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.reported: set[int] = set()
        self.started = time.monotonic()

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, trials: list[Trial], elapsed_s: float) -> None:
        metric = self.exp.objective.primary.metric
        for t in trials:
            if t.phase in DONE and t.index not in self.reported:
                self.reported.add(t.index)
                value = t.metrics.get(metric)
                shown = f"{metric}={value:.4f}" if value is not None and t.phase == "Succeeded" \
                    else f"{t.reason}: {t.message or ''}".strip()
                done = len(self.reported)
                self.console.print(f"[{done}/{self.exp.budget.max_trials}] {elapsed_s:6.1f}s "
                                   f"{trial_name(self.exp.name, t.index)} {t.phase} "
                                   f"budget={t.budget:g} {shown}")
