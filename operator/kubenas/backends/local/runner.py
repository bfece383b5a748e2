"""`kubenas run`: the engine driving trainer subprocesses on this machine.

The loop is the operator's loop without Kubernetes: ask the engine, start or stop
processes, read their metrics, record the outcome, repeat. All state that matters is in
`trials.jsonl`, written after every change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import trial_seed
from kubenas.backends.local import processes
from kubenas.backends.local.processes import TrialProcess
from kubenas.backends.runs import history as store
from kubenas.engine.engine import Engine, Outcome
from kubenas.metrics.scrape import ScrapeError, scrape

POLL_S = 0.25
SCRAPE_EVERY_S = 1.0


class Display(Protocol):
    def update(self, trials: list[Trial], elapsed_s: float) -> None: ...


@dataclass(frozen=True)
class RunResult:
    trials: list[Trial]
    outcome: Outcome
    elapsed_s: float


class LocalRunner:
    def __init__(self, exp: Experiment, run_dir: Path, *, parallel: int | None = None,
                 fresh: bool = False) -> None:
        self.exp = exp
        self.run_dir = run_dir.resolve()  # trials run from the manifest folder
        self.parallel = parallel
        self.engine = Engine(exp)
        self.trials: list[Trial] = [] if fresh else store.load(run_dir, exp)
        self.running: dict[int, TrialProcess] = {}
        self._last_scrape = 0.0

    def run(self, display: Display) -> RunResult:
        """Run to completion. On Ctrl-C, stop every trial and re-raise after saving."""
        started = time.monotonic() - self._elapsed_before()
        try:
            while True:
                elapsed = time.monotonic() - started
                self._collect()
                decision = self.engine.decide(self.trials, elapsed_s=elapsed,
                                              capacity=self.parallel)
                for index, reason in decision.stop:
                    self._stop(index, reason)
                for new in decision.create:
                    self.trials.append(Trial(new.index, new.arch, new.budget, new.rung,
                                             new.parent))
                self._launch_pending(elapsed)
                store.save(self.run_dir, self.exp, self.trials)
                display.update(self.trials, elapsed)
                if decision.outcome is not None:
                    return RunResult(self.trials, decision.outcome, elapsed)
                self._scrape_curves()
                time.sleep(POLL_S)
        except BaseException:
            for index in list(self.running):
                self._stop(index, "Interrupted", requeue=True)
            store.save(self.run_dir, self.exp, self.trials)
            raise

    def _elapsed_before(self) -> float:
        """Time already spent by an earlier, interrupted run of the same directory."""
        spans = [(t.started_at, t.finished_at) for t in self.trials
                 if t.started_at is not None and t.finished_at is not None]
        return sum(b - a for a, b in spans) / max(self.exp.budget.max_parallel, 1)

    def _launch_pending(self, elapsed: float) -> None:
        for trial in self.trials:
            if trial.phase == "Pending" and trial.index not in self.running:
                seed = trial_seed(self.exp, self.trials, trial)
                self.running[trial.index] = processes.start(self.exp, self.trials, trial,
                                                            self.run_dir, seed)
                self.trials[trial.index] = trial.with_(phase="Running", started_at=time.time())

    def _collect(self) -> None:
        """Turn finished or overdue processes into trial outcomes."""
        for index, proc in list(self.running.items()):
            code = proc.process.poll()
            if code is None and proc.timed_out:
                proc.stop()
                self._finish(index, "Failed", reason="DeadlineExceeded",
                             message=f"ran longer than budget.trialTimeout "
                                     f"({self.exp.budget.trial_timeout_s:.0f}s)")
            elif code == 0:
                self._finish_success(index, proc)
            elif code is not None:
                self._finish(index, "Failed", reason="Error",
                             message=processes.failure_message(proc.folder, code))

    def _finish_success(self, index: int, proc: TrialProcess) -> None:
        result = processes.read_result(proc.folder)
        metrics = result.get("metrics") if result else None
        if not isinstance(metrics, dict) or self.exp.objective.primary.metric not in metrics:
            self._finish(index, "Failed", reason="NoResult",
                         message=f"exit 0 but no result with metric "
                                 f"{self.exp.objective.primary.metric!r} in result.json or on "
                                 "stdout")
            return
        curve = tuple(float(v) for v in (result or {}).get("curve", proc.curve))
        self._finish(index, "Succeeded", metrics={k: float(v) for k, v in metrics.items()
                                                  if isinstance(v, int | float)}, curve=curve)

    def _finish(self, index: int, phase: str, **fields: object) -> None:
        self.running.pop(index, None)
        self.trials[index] = self.trials[index].with_(phase=phase, finished_at=time.time(),
                                                      **fields)

    def _stop(self, index: int, reason: str, *, requeue: bool = False) -> None:
        proc = self.running.pop(index, None)
        if proc is not None:
            proc.stop()
        trial = self.trials[index]
        if requeue or reason == "Suspended":
            self.trials[index] = trial.with_(phase="Pending", attempt=trial.attempt + 1)
        elif trial.active:
            self.trials[index] = trial.with_(phase="Stopped", reason=reason,
                                             finished_at=time.time())

    def _scrape_curves(self) -> None:
        """Learning curves of running trials, read from their /metrics endpoints."""
        now = time.monotonic()
        if now - self._last_scrape < SCRAPE_EVERY_S:
            return
        self._last_scrape = now
        metric = self.exp.objective.primary.metric
        for index, proc in self.running.items():
            try:
                sample = scrape(proc.metrics_url, timeout=0.5)
            except ScrapeError:
                continue  # not serving yet, or between epochs; the final result is the authority
            epoch = sample.epoch
            if metric in sample.metrics and epoch is not None and epoch > len(proc.curve):
                proc.curve.append(sample.metrics[metric])
                trial = self.trials[index]
                self.trials[index] = trial.with_(curve=tuple(proc.curve),
                                                 metrics={**trial.metrics, **sample.metrics})
