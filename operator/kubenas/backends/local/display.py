"""Live progress for `kubenas run`: a progress bar and a leaderboard on a terminal, plain
lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from kubenas.api.trials import DONE, Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.engine.status import ranked
from kubenas.space.space import SearchSpace

BOARD_ROWS = 5


def arch_text(arch: dict[str, Any], limit: int = 60) -> str:
    text = json.dumps(arch, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RichDisplay:
    """Progress bar (done/total, elapsed, ETA) over a live top-5 leaderboard."""

    def __init__(self, exp: Experiment, console: Console | None = None,
                 space: SearchSpace | None = None) -> None:
        self.exp = exp
        self.space = space
        self.console = console or Console()
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("trials"),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=self.console)
        self.task = self.progress.add_task(exp.name, total=exp.budget.max_trials)
        self.live = Live(Group(self.progress), console=self.console, refresh_per_second=4)

    def __enter__(self) -> RichDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def update(self, trials: list[Trial], elapsed_s: float) -> None:
        done = sum(t.phase in DONE for t in trials)
        running = sum(t.phase == "Running" for t in trials)
        self.progress.update(self.task, completed=done,
                             description=f"{self.exp.name} ({running} running)")
        self.live.update(Group(self.progress, self._board(trials)))

    def _board(self, trials: list[Trial]) -> Table:
        metric = self.exp.objective.primary.metric
        table = Table(title="best so far", title_justify="left", expand=False)
        for column in ("trial", "budget", metric, "architecture"):
            table.add_column(column)
        for t in ranked(self.exp, trials, self.space)[:BOARD_ROWS]:
            table.add_row(trial_name(self.exp.name, t.index), f"{t.budget:g}",
                          f"{t.metrics[metric]:.4f}", arch_text(dict(t.arch)))
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
