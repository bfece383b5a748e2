"""Trial processes: start a trainer subprocess for a trial, watch it, stop it.

Each trial gets its own folder under the run directory (log, result, checkpoint, exported
model) and its own process group, so stopping a trial also stops anything it spawned.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import DEFAULT_COMMAND, trial_env
from kubenas.backends.runs import trial_dir

RESULT_PREFIX = "KUBENAS_RESULT "
STOP_GRACE_S = 5.0


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

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL after a grace period."""
        if self.process.poll() is not None:
            return
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def command(exp: Experiment) -> list[str]:
    """The trainer command: the template's command and args, else the built-in trainer."""
    template = exp.trial_template
    cmd = list(template.get("command") or DEFAULT_COMMAND)
    if cmd[0] == "python":
        cmd[0] = sys.executable  # the runner's own interpreter, with kubenas_trainer on it
    return cmd + list(template.get("args", []))


def start(exp: Experiment, trials: list[Trial], trial: Trial, run_dir: Path,
          seed: int) -> TrialProcess:
    folder = trial_dir(run_dir, exp, trial.index)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").unlink(missing_ok=True)
    parent = trial_dir(run_dir, exp, trial.parent) / "checkpoint" if trial.parent is not None \
        else None
    port = free_port()
    env = dict(os.environ)
    env.update({e["name"]: str(e.get("value", "")) for e in exp.trial_template.get("env", [])
                if "name" in e})
    env.update(trial_env(exp, trial, seed=seed, metrics_port=port,
                         checkpoint_dir=str(folder / "checkpoint"),
                         resume_from=str(parent) if parent else None,
                         termination_log=str(folder / "result.json"),
                         export_dir=str(folder / "model")))
    env["KUBENAS_METRICS_HOST"] = "127.0.0.1"
    env.setdefault("KUBENAS_THREADS", "1")
    with (folder / "log.txt").open("wb") as log:
        process = subprocess.Popen(command(exp), env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, cwd=exp_dir(exp))
    return TrialProcess(trial.index, process, folder, port, time.monotonic(),
                        exp.budget.trial_timeout_s)


def exp_dir(exp: Experiment) -> str:
    """Trials run from the manifest's folder, so relative dataset paths resolve as written."""
    source = Path(exp.source)
    return str(source.parent.resolve()) if source.exists() else os.getcwd()


def read_result(folder: Path) -> dict[str, Any] | None:
    """The final result: the termination-log file, else the last KUBENAS_RESULT line."""
    path = folder / "result.json"
    if path.exists():
        try:
            return dict(json.loads(path.read_text()))
        except ValueError:
            pass
    log = folder / "log.txt"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for line in reversed(lines):
        if line.startswith(RESULT_PREFIX):
            return dict(json.loads(line[len(RESULT_PREFIX):]))
    return None


def failure_message(folder: Path, exit_code: int) -> str:
    """The last meaningful log line, so a crash explains itself in the leaderboard."""
    log = folder / "log.txt"
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()] \
        if log.exists() else []
    tail = lines[-1] if lines else "no output"
    return f"exit code {exit_code}: {tail[:300]}"
