"""Containers as local process groups: start, signal, reap, and read what they left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MESSAGE_LIMIT = 4096  # bytes of termination message the kubelet keeps
FALLBACK_LINES, FALLBACK_BYTES = 80, 2048  # FallbackToLogsOnError tail


@dataclass
class Launch:
    """A container resolved to a local process; `error` when it cannot start."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    message_file: Path
    fallback_to_logs: bool = False
    error: str = ""


@dataclass
class Container:
    launch: Launch
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int | None = None
    oom_killed: bool = False
    start_error: str = ""
    message: str = ""  # the termination message, read once the container has ended
    _kill_at: float | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.launch.name

    @property
    def running(self) -> bool:
        return self.exit_code is None and self.proc is not None

    def start(self) -> None:
        self.started_at = time.time()
        if self.launch.error:
            self._fail_start(self.launch.error)
            return
        self.launch.message_file.parent.mkdir(parents=True, exist_ok=True)
        self.launch.message_file.touch()
        self.launch.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.launch.log, "ab") as log:
            try:
                # A session of its own: signals reach the container's children too.
                self.proc = subprocess.Popen(
                    self.launch.argv,
                    env=self.launch.env,
                    cwd=self.launch.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as err:
                self._fail_start(f"failed to start {self.launch.argv[0]!r}: {err}")

    def _fail_start(self, message: str) -> None:
        self.start_error = message
        self._finish(128)

    def _finish(self, exit_code: int) -> None:
        self.exit_code = exit_code
        self.finished_at = time.time()
        self.message = self._termination_message()

    def poll(self) -> bool:
        """Reaps the process and enforces a pending kill; True when it just exited."""
        if not self.running or self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            if self._kill_at is not None and time.time() >= self._kill_at:
                self._signal(signal.SIGKILL)
                self._kill_at = None
            return False
        # Stragglers of the session die with the main process, as with a container's PID 1.
        self._signal(signal.SIGKILL)
        self._finish(128 - code if code < 0 else code)
        return True

    def stop(self, grace: float) -> None:
        """SIGTERM now, SIGKILL once `grace` seconds have passed (checked by `poll`)."""
        if not self.running:
            return
        if grace <= 0:
            self._signal(signal.SIGKILL)
            return
        if self._kill_at is None:
            self._signal(signal.SIGTERM)
            self._kill_at = time.time() + grace

    def kill(self, oom: bool = False) -> None:
        """SIGKILL and wait: the caller needs the exit status right away."""
        if not self.running or self.proc is None:
            return
        self.oom_killed = oom
        self._signal(signal.SIGKILL)
        self.proc.wait()
        self.poll()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    @property
    def reason(self) -> str:
        if self.start_error:
            return "StartError"
        if self.oom_killed:
            return "OOMKilled"
        return "Completed" if self.exit_code == 0 else "Error"

    def _termination_message(self) -> str:
        if self.start_error:
            return self.start_error
        message = _read_tail(self.launch.message_file, MESSAGE_LIMIT)
        if not message.strip() and self.launch.fallback_to_logs and self.exit_code != 0:
            lines = _read_tail(self.launch.log, 64 * FALLBACK_BYTES).splitlines()
            message = "\n".join(lines[-FALLBACK_LINES:])[-FALLBACK_BYTES:]
        return message


def _read_tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - limit))
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
