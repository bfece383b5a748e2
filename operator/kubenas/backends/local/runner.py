"""`kubenas run`: the engine driving trainer subprocesses on this machine.

The loop is the operator's loop without Kubernetes: ask the engine, start or stop
processes, read their metrics, record the outcome, repeat. All state that matters is in
`trials.jsonl`, written after every change. One run at a time uses a run folder (a lock
says so); a stop request (Ctrl-C, SIGTERM, SIGHUP) is honoured at the next step of the
loop, so no trainer is ever started without being tracked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.backends.contract import BadResult, interpret, trial_seed
from kubenas.backends.local import processes
from kubenas.backends.local.export import Exported, export_best
from kubenas.backends.local.processes import TrialProcess, TrialStartError
from kubenas.backends.runs import history, manifest
from kubenas.backends.runs.results import OUTPUTS
from kubenas.engine.engine import Engine, Outcome
from kubenas.metrics.scrape import ScrapeError, scrape

POLL_S = 0.25
SCRAPE_EVERY_S = 1.0
RUN_LOCK = ".kubenas.lock"
DATA_CACHE = "cache"


class Display(Protocol):
    def update(self, trials: list[Trial], elapsed_s: float) -> None: ...


class RunFolderBusy(RuntimeError):
    pass


class StopRequested(Exception):
    """A signal asked the run to stop; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True)
class RunResult:
    trials: list[Trial]
    outcome: Outcome
    elapsed_s: float


class LocalRunner:
    """Holds the run folder's lock from construction until `close`."""

    def __init__(self, exp: Experiment, run_dir: Path, *, parallel: int | None = None,
                 fresh: bool = False) -> None:
        self.exp = exp
        self.run_dir = run_dir.resolve()  # trials run from the manifest folder
        self.parallel = parallel
        self._lock: int | None = _lock_run_folder(self.run_dir)
        try:
            self.stale = processes.stop_stale(self.run_dir)
            if fresh:
                _clear(self.run_dir)
            loaded = history.load(self.run_dir, exp)
            manifest.save(self.run_dir, exp)
        except BaseException:
            self.close()
            raise
        self.trials: list[Trial] = loaded.trials
        self.warnings = loaded.warnings
        self.resumed = len(loaded.trials)
        self.engine = Engine(exp)
        self.running: dict[int, TrialProcess] = {}
        self.stop_signal: int | None = None
        self._last_scrape = 0.0

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def request_stop(self, signum: int) -> None:
        """Called from a signal handler: the loop stops at its next step."""
        self.stop_signal = signum

    def run(self, display: Display) -> RunResult:
        """Run to completion. On a stop request or an error, stop every trial, save and
        re-raise."""
        started = time.monotonic() - self._elapsed_before()
        try:
            while True:
                if self.stop_signal is not None:
                    raise StopRequested(self.stop_signal)
                elapsed = time.monotonic() - started
                self._collect()
                decision = self.engine.decide(self.trials, elapsed_s=elapsed,
                                              capacity=self.parallel)
                self._stop([i for i, _ in decision.stop], dict(decision.stop))
                for new in decision.create:
                    self.trials.append(new.record())
                self._launch_pending()
                history.save(self.run_dir, self.exp, self.trials)
                display.update(self.trials, elapsed)
                if decision.outcome is not None:
                    return RunResult(self.trials, decision.outcome, elapsed)
                self._scrape_curves()
                time.sleep(POLL_S)
        except BaseException:
            self._stop(list(self.running), {}, requeue=True)
            history.save(self.run_dir, self.exp, self.trials)
            raise

    def export_best(self, name: str) -> Exported:
        """Export the named trial's model; a stop request ends it and raises StopRequested."""
        index = next(t.index for t in self.trials if trial_name(self.exp.name, t.index) == name)
        exported = export_best(self.exp, self.trials, self.run_dir, index,
                               lambda: self.stop_signal is not None)
        if self.stop_signal is not None:
            raise StopRequested(self.stop_signal)
        return exported

    def _elapsed_before(self) -> float:
        """Time already spent by an earlier, interrupted run of the same folder."""
        spans = [(t.started_at, t.finished_at) for t in self.trials
                 if t.started_at is not None and t.finished_at is not None]
        return sum(b - a for a, b in spans) / max(self.exp.budget.max_parallel, 1)

    def _launch_pending(self) -> None:
        for trial in self.trials:
            if trial.phase != "Pending" or trial.index in self.running:
                continue
            seed = trial_seed(self.exp, self.trials, trial)
            try:
                self.running[trial.index] = processes.start(
                    self.exp, trial, self.run_dir, seed, self.run_dir / DATA_CACHE)
            except TrialStartError as exc:
                self.trials[trial.index] = trial.with_(
                    phase="Failed", reason="TrainerNotStarted", message=str(exc),
                    started_at=time.time(), finished_at=time.time())
                continue
            self.trials[trial.index] = trial.with_(phase="Running", started_at=time.time())

    def _collect(self) -> None:
        """Turn finished or overdue processes into trial outcomes."""
        for index, proc in list(self.running.items()):
            code = proc.process.poll()
            if code is None and proc.timed_out:
                processes.stop_all([proc])
                self._finish(index, "Failed", reason="DeadlineExceeded",
                             message=f"ran longer than budget.trialTimeout "
                                     f"({self.exp.budget.trial_timeout_s:g}s)")
                continue
            if code is None:
                continue
            proc.reap()
            if code == 0:
                self._finish_success(index, proc)
            else:
                self._finish(index, "Failed", reason="Error",
                             message=processes.failure_message(proc.folder, code))

    def _finish_success(self, index: int, proc: TrialProcess) -> None:
        result = interpret(processes.read_result(proc.folder), self.exp.objective.primary.metric,
                           self.trials[index].kind, self.exp.space)
        if isinstance(result, BadResult):
            self._finish(index, "Failed", reason=result.reason, message=result.message)
            return
        self._finish(index, "Succeeded", metrics=result.metrics,
                     curve=result.curve or tuple(proc.curve),
                     message="; ".join(result.notes) or None, derived=result.derived)

    def _finish(self, index: int, phase: str, **fields: object) -> None:
        self.running.pop(index, None)
        self.trials[index] = self.trials[index].with_(phase=phase, finished_at=time.time(),
                                                      **fields)

    def _stop(self, indices: list[int], reasons: dict[int, str], *,
              requeue: bool = False) -> None:
        """Stop trials together; a requeued or suspended one becomes Pending again."""
        processes.stop_all([self.running.pop(i) for i in indices if i in self.running])
        for index in indices:
            trial, reason = self.trials[index], reasons.get(index, "Interrupted")
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


def _lock_run_folder(run_dir: Path) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise RunFolderBusy(f"{run_dir} is in use by another kubenas run (pid {owner}); wait "
                            "for it to finish, or use another --out") from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _clear(run_dir: Path) -> None:
    """What an earlier run left, for --fresh: trials (checkpoints, logs), results, model."""
    shutil.rmtree(run_dir / "trials", ignore_errors=True)
    shutil.rmtree(run_dir / DATA_CACHE, ignore_errors=True)
    for name in (history.HISTORY, *OUTPUTS):
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
