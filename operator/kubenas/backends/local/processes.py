"""Trial processes: start a trainer subprocess for a trial, watch it, stop all of it.

Each trial gets its own folder under the run directory (log, result, checkpoint) and runs
in its own session and process group, so stopping a trial stops everything it spawned.
The trainer inherits a lock on its folder: while any process of an earlier attempt lives
(after `kubenas run` itself was killed, say), the lock is held, and the next attempt first
stops that process group, so two processes never train in one folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import DEFAULT_COMMAND, find_result, trial_env
from kubenas.backends.runs import trial_dir

STOP_GRACE_S = 5.0
LOCK = ".lock"
GROUP = "pgid"


class TrialStartError(OSError):
    """The trainer could not be started; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TrialProcess:
    """A running trainer and where to find what it writes."""

    index: int
    process: subprocess.Popen[bytes]
    folder: Path
    port: int
    started: float
    timeout_s: float | None
    curve: list[float] = field(default_factory=list)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    @property
    def timed_out(self) -> bool:
        return self.timeout_s is not None and time.monotonic() - self.started > self.timeout_s

    def reap(self) -> None:
        """After the trainer exited: end whatever it left running in its group."""
        _signal_group(self.process.pid, signal.SIGKILL)


def stop_all(processes: Iterable[TrialProcess], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every group at once, SIGKILL what is left after the grace period."""
    procs = [p for p in processes]
    for p in procs:
        _signal_group(p.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.process.wait(max(0.0, deadline - time.monotonic()))
    for p in procs:
        _signal_group(p.process.pid, signal.SIGKILL)
        p.process.wait()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """End a trainer and whatever it left running in its group, and reap it."""
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def command(exp: Experiment) -> list[str]:
    """The trainer command: the template's command and args, else the built-in trainer."""
    template = exp.trial_template
    cmd = list(template.get("command") or DEFAULT_COMMAND)
    if cmd[0] == "python":
        cmd[0] = sys.executable  # the runner's own interpreter, with kubenas_trainer on it
    return cmd + list(template.get("args", []))


def exp_dir(exp: Experiment) -> Path:
    """Trials run from the manifest's folder, so relative paths resolve as written."""
    source = Path(exp.source)
    return source.parent.resolve() if source.exists() else Path.cwd()


def claim(folder: Path, grace_s: float = STOP_GRACE_S) -> int:
    """A locked descriptor of the folder's lock, stopping an earlier attempt's processes
    that still hold it; raises TrialStartError when they cannot be stopped."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    if _try_lock(fd):
        return fd
    pgid = _recorded_group(folder)
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        if pgid is not None:
            _signal_group(pgid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if _try_lock(fd):
                return fd
            time.sleep(0.05)
    os.close(fd)
    raise TrialStartError(f"{folder} is still in use by process group {pgid}, which did not "
                          "stop; end it and run again")


def stop_stale(run_dir: Path) -> list[Path]:
    """Stop processes of earlier runs still working in this run's trial folders."""
    stopped = []
    for lock in sorted(run_dir.glob(f"trials/*/{LOCK}")):
        fd = os.open(lock, os.O_RDWR)
        try:
            if not _try_lock(fd):
                os.close(claim(lock.parent))
                stopped.append(lock.parent)
        finally:
            os.close(fd)
    return stopped


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _recorded_group(folder: Path) -> int | None:
    try:
        return int((folder / GROUP).read_text())
    except (OSError, ValueError):
        return None


def environment(exp: Experiment, trial: Trial, folder: Path, *, seed: int, metrics_port: int,
                termination_log: str, resume_from: str | None = None,
                export_dir: str | None = None, data_cache: Path | None = None) -> dict[str, str]:
    """A local trainer's environment: ours, the template's env, then the trial contract."""
    env = dict(os.environ)
    env.update({e["name"]: e.get("value", "") for e in exp.trial_template.get("env", [])})
    env.update(trial_env(exp, trial, seed=seed, metrics_port=metrics_port,
                         checkpoint_dir=str(folder / "checkpoint"), resume_from=resume_from,
                         termination_log=termination_log, export_dir=export_dir,
                         data_cache=str(data_cache) if data_cache else None))
    env["KUBENAS_METRICS_HOST"] = "127.0.0.1"
    env.setdefault("KUBENAS_THREADS", "1")
    return env


def start(exp: Experiment, trial: Trial, run_dir: Path, seed: int,
          data_cache: Path | None = None) -> TrialProcess:
    folder = trial_dir(run_dir, exp, trial.index)
    lock = claim(folder)
    try:
        (folder / "result.json").unlink(missing_ok=True)
        parent = trial_dir(run_dir, exp, trial.parent) / "checkpoint" \
            if trial.parent is not None else None
        port = free_port()
        env = environment(exp, trial, folder, seed=seed, metrics_port=port,
                          resume_from=str(parent) if parent else None,
                          termination_log=str(folder / "result.json"), data_cache=data_cache)
        cmd = command(exp)
        with (folder / "log.txt").open("wb") as log:
            try:
                process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, start_new_session=True,
                                           cwd=exp_dir(exp), pass_fds=(lock,))
            except OSError as exc:
                raise TrialStartError(f"cannot start {cmd[0]!r}: "
                                      f"{exc.strerror or exc}") from exc
        (folder / GROUP).write_text(str(process.pid))
    finally:
        os.close(lock)  # the trainer holds its inherited copy while it lives
    return TrialProcess(trial.index, process, folder, port, time.monotonic(),
                        exp.budget.trial_timeout_s)


TAIL_BYTES = 65536


def tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The end of a file that may be large (a chatty trainer's log)."""
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - limit))
        return handle.read().decode(errors="replace")


def read_result(folder: Path) -> Any:
    """The final result: the termination-log file, else the last KUBENAS_RESULT line."""
    for name in ("result.json", "log.txt"):
        found = find_result(tail(folder / name))
        if found is not None:
            return found
    return None


def failure_message(folder: Path, exit_code: int) -> str:
    """The last meaningful log line, so a crash explains itself in the leaderboard."""
    lines = [ln.strip() for ln in tail(folder / "log.txt").splitlines() if ln.strip()]
    tail_line = lines[-1] if lines else "no output"
    if exit_code < 0:
        name = signal.Signals(-exit_code).name if -exit_code in signal.valid_signals() \
            else str(-exit_code)
        return f"killed by {name}: {tail_line[:300]}"
    return f"exit code {exit_code}: {tail_line[:300]}"
