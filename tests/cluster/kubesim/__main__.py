"""`python -m kubesim up|down|run --dir DIR`: the test cluster as a background service.

`up` starts `run` detached and returns once the cluster is ready (DIR/env written); `down`
stops it. Run with `PYTHONPATH=tests/cluster`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STARTUP_TIMEOUT = 120.0
SHUTDOWN_TIMEOUT = 60.0


def _running_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive (a zombie is not)."""
    try:
        pid = int(pid_file.read_text())
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ValueError):
        return None
    return None if stat.rsplit(")", 1)[1].split()[0] == "Z" else pid


def up(directory: Path) -> int:
    pid_file, env_file = directory / "kubesim.pid", directory / "env"
    if _running_pid(pid_file) and env_file.exists():
        print(f"kubesim: already running; source {env_file}")
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    env_file.unlink(missing_ok=True)
    package_root = str(Path(__file__).resolve().parents[1])
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    with open(directory / "kubesim.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubesim", "run", "--dir", str(directory)],
            env=os.environ | {"PYTHONPATH": python_path},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not env_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = (directory / "kubesim.log").read_text(errors="replace")[-3000:]
            print(f"kubesim: failed to start:\n{tail}", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"kubesim: up (pid {proc.pid}); source {env_file}")
    return 0


def down(directory: Path) -> int:
    pid_file = directory / "kubesim.pid"
    pid = _running_pid(pid_file)
    if pid is None:
        print("kubesim: not running")
        pid_file.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT
    while _running_pid(pid_file) == pid and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running_pid(pid_file) == pid:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    print("kubesim: down")
    return 0


def run(directory: Path) -> int:
    from .cluster import Cluster

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    (directory / "kubesim.pid").write_text(str(os.getpid()))
    with Cluster(directory) as cluster:
        logging.info("cluster up: api %s, prometheus %s", cluster.url, cluster.prometheus_url)
        stop.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "run"])
    parser.add_argument("--dir", type=Path, default=Path(".cluster"))
    args = parser.parse_args(argv)
    directory = args.dir.resolve()
    return {"up": up, "down": down, "run": run}[args.command](directory)


if __name__ == "__main__":
    sys.exit(main())
