"""Operator scale benchmark (not a test): reaction time, CPU and memory as the load grows.

Runs `kubenas operator` as a process against the kubesim API server and a kubelet that runs
each trial pod for a set time and then completes it with a result in its termination
message, so the operator's own work is what is on the clock. Three scenarios:

- scale: one experiment per (trials, parallel) pair; the operator's CPU per trial, peak RSS
  and the reaction time from a trial pod finishing to the next trial pod being created;
- fanout: many experiments at once; each one's reaction time, so that one waiting behind
  another shows;
- takeover: two replicas with leader election; the leader is killed mid-run and the time
  until the survivor creates the next pod is measured.

    make bench-operator    # or:
    PYTHONPATH=tests/cluster .venv/bin/python benchmarks/operator_scale.py --out DIR
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubesim.apiserver import ApiServer
from kubesim.cluster import apply_crds
from kubesim.kubelet.client import ApiClient, ApiError

REPO = Path(__file__).resolve().parents[1]
NS = "bench"
PODS = f"/api/v1/namespaces/{NS}/pods"
EXPERIMENTS = f"/apis/kubenas.io/v1alpha1/namespaces/{NS}/nasexperiments"
EXPERIMENT_LABEL = "kubenas.io/experiment"
OPERATOR = ("import sys; from kubenas.backends.kubernetes.main import run_operator; "
            "sys.exit(run_operator(sys.argv[1:]))")
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Kubelet:
    """Runs each trial pod for `hold_s` (0.5x to 1.5x, seeded) and then completes it with a
    result in its termination message; records, per experiment, when each pod was created
    and when it finished. With `hold_s` 0 every pod finishes the moment it appears."""

    def __init__(self, url: str, hold_s: float) -> None:
        self.api = ApiClient(url)
        self.hold_s = hold_s
        self.random = random.Random(0)
        self.created: dict[str, list[float]] = defaultdict(list)
        self.finished: dict[str, list[float]] = defaultdict(list)
        self.started: list[str] = []
        self.due: list[tuple[float, str, str]] = []  # (when, experiment, pod)
        self.lock = threading.Condition()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._watch, daemon=True),
                        threading.Thread(target=self._finish, daemon=True)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _watch(self) -> None:
        while not self.stop.is_set():
            for event in self.api.watch(PODS, self.stop, timeout_seconds=600):
                pod = event["object"]
                if event["type"] != "ADDED" or (pod.get("status") or {}).get("phase") not in (
                        None, "Pending"):
                    continue
                experiment, name = pod["metadata"]["labels"][EXPERIMENT_LABEL], \
                    pod["metadata"]["name"]
                self.created[experiment].append(time.monotonic())
                self.started.append(name)
                if self.hold_s == 0:
                    self._complete(experiment, pod)
                    continue
                if not self._set_status(name, "Running", {"running": {}}):
                    continue
                with self.lock:
                    when = time.monotonic() + self.hold_s * self.random.uniform(0.5, 1.5)
                    heapq.heappush(self.due, (when, experiment, json.dumps(pod)))
                    self.lock.notify()

    def _finish(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                wait = self.due[0][0] - time.monotonic() if self.due else 1.0
                if wait > 0:
                    self.lock.wait(min(wait, 1.0))
                    continue
                _, experiment, pod = heapq.heappop(self.due)
            self._complete(experiment, json.loads(pod))

    def _complete(self, experiment: str, pod: dict[str, Any]) -> None:
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        params = json.loads(env["KUBENAS_ARCHITECTURE"])["params"]
        value = round((params["depth"] / 8 + params["width"] / 512) / 2, 6)
        message = json.dumps({"metrics": {"val_accuracy": value}, "curve": [value]})
        if self._set_status(pod["metadata"]["name"], "Succeeded", {"terminated": {
                "exitCode": 0, "reason": "Completed", "message": message}}):
            self.finished[experiment].append(time.monotonic())

    def _set_status(self, pod: str, phase: str, state: dict[str, Any]) -> bool:
        """False if the pod is gone (deleted meanwhile, as a stopped trial's is)."""
        try:
            self.api.patch(f"{PODS}/{pod}/status", {"status": {
                "phase": phase, "containerStatuses": [{"name": "trainer", "state": state}]}})
        except ApiError as exc:
            if exc.status != 404:
                raise
            return False
        return True


def experiment(name: str, trials: int, parallel: int) -> dict[str, Any]:
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"objective": {"metric": "val_accuracy"},
                     "searchSpace": {"family": "macro_cnn", "parameters": [
                         {"name": "depth", "int": {"min": 1, "max": 8}},
                         {"name": "width", "int": {"min": 8, "max": 512}},
                         {"name": "op", "choice": ["conv3x3", "sep_conv3x3", "skip"],
                          "repeat": "depth"}]},
                     "strategy": {"name": "random", "seed": 1},
                     "budget": {"maxTrials": trials, "maxParallelTrials": parallel},
                     "training": {"epochs": 1}}}


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    hwm = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return cpu, int(hwm[1]) / 1024 if hwm else 0.0


def reactions(created: list[float], finished: list[float], parallel: int) -> list[float]:
    """Each pod created after the first `parallel` fills the slot of the earliest unmatched
    finish before it."""
    waiting: deque[float] = deque()
    out, f = [], 0
    for t in created[parallel:]:
        while f < len(finished) and finished[f] <= t:
            waiting.append(finished[f])
            f += 1
        if waiting:
            out.append(t - waiting.popleft())
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def operator_metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match[1]) if match else float("nan")


class Bench:
    """One API server, its kubelet and the operator processes started against it."""

    def __init__(self, workdir: Path, hold_s: float) -> None:
        self.workdir = workdir
        self.server = ApiServer()
        self.url = self.server.start()
        self.kubeconfig = self.server.write_kubeconfig(workdir / "kubeconfig")
        self.api = ApiClient(self.url)
        apply_crds(self.api, REPO / "crds")
        self.api.post("/api/v1/namespaces", {"metadata": {"name": NS}})
        self.kubelet = Kubelet(self.url, hold_s)
        self.kubelet.start()
        self.operators: list[tuple[subprocess.Popen[bytes], int]] = []

    def operator(self, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig),
               "PYTHONPATH": os.pathsep.join([str(REPO / "operator"),
                                              str(REPO / "trainer_image")])}
        log = (self.workdir / f"operator-{port}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-c", OPERATOR, "--namespaces", NS, "--port",
                                 str(port), "--log-level", "WARNING", *extra], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        self.operators.append((proc, port))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                operator_metric(port, "kubenas_leader")
                return proc, port
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"operator did not come up; see {log.name}")

    def wait_succeeded(self, names: list[str]) -> None:
        pending = set(names)
        while pending:
            if all(p.poll() is not None for p, _ in self.operators):
                raise RuntimeError(f"operators exited; see {self.workdir}")
            for name in list(pending):
                status = self.api.get(f"{EXPERIMENTS}/{name}").get("status") or {}
                if status.get("phase") == "Failed":  # every trial succeeds in this benchmark
                    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
                    raise RuntimeError(f"{name} failed: {stalled['message']}")
                if status.get("phase") == "Succeeded":
                    pending.discard(name)
            time.sleep(0.5)

    def reactions(self, name: str, parallel: int) -> list[float]:
        return reactions(sorted(self.kubelet.created[name]),
                         sorted(self.kubelet.finished[name]), parallel)

    def close(self) -> None:
        for proc, _ in self.operators:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        self.kubelet.stop.set()
        self.server.stop()


@contextmanager
def bench(workdir: Path, hold_s: float) -> Iterator[Bench]:
    workdir.mkdir(parents=True, exist_ok=True)
    b = Bench(workdir, hold_s)
    try:
        yield b
    finally:
        b.close()


def scale(trials: int, parallel: int, hold_s: float, workdir: Path) -> dict[str, Any]:
    with bench(workdir, hold_s) as b:
        proc, port = b.operator()
        cpu_before, _ = process_stats(proc.pid)
        emulator_cpu = time.process_time()
        started = time.monotonic()
        b.api.post(EXPERIMENTS, experiment("scale", trials, parallel))
        b.wait_succeeded(["scale"])
        wall = time.monotonic() - started
        emulator_cpu = time.process_time() - emulator_cpu
        cpu_after, rss = process_stats(proc.pid)
        reconciles = operator_metric(port, "kubenas_reconcile_duration_seconds_count")
        reconcile_s = operator_metric(port, "kubenas_reconcile_duration_seconds_sum")
        lat = b.reactions("scale", parallel)
    cpu = cpu_after - cpu_before
    return {"trials": trials, "parallel": parallel, "hold_s": hold_s, "wall_s": wall,
            "cpu_ms_per_trial": 1000 * cpu / trials, "rss_mib": rss,
            "emulator_cpu_ms_per_trial": 1000 * emulator_cpu / trials,
            "reconciles": int(reconciles), "reconcile_ms_mean": 1000 * reconcile_s / reconciles,
            "reaction_p50_ms": 1000 * percentile(lat, 0.5),
            "reaction_p95_ms": 1000 * percentile(lat, 0.95)}


def fanout(experiments: int, trials: int, parallel: int, hold_s: float,
           workdir: Path) -> dict[str, Any]:
    names = [f"fan-{i}" for i in range(experiments)]
    with bench(workdir, hold_s) as b:
        proc, _ = b.operator()
        cpu_before, _ = process_stats(proc.pid)
        started = time.monotonic()
        for name in names:
            b.api.post(EXPERIMENTS, experiment(name, trials, parallel))
        b.wait_succeeded(names)
        wall = time.monotonic() - started
        cpu_after, rss = process_stats(proc.pid)
        firsts = [b.kubelet.created[n][0] - started for n in names]
        p95s = [percentile(b.reactions(n, parallel), 0.95) for n in names]
        everything = [x for n in names for x in b.reactions(n, parallel)]
    return {"experiments": experiments, "trials": trials, "parallel": parallel,
            "hold_s": hold_s, "wall_s": wall,
            "cpu_ms_per_trial": 1000 * (cpu_after - cpu_before) / (experiments * trials),
            "rss_mib": rss, "first_pod_max_s": max(firsts),
            "reaction_p50_ms": 1000 * percentile(everything, 0.5),
            "reaction_p95_ms": 1000 * percentile(everything, 0.95),
            "best_experiment_p95_ms": 1000 * min(p95s),
            "worst_experiment_p95_ms": 1000 * max(p95s)}


def takeover(workdir: Path) -> dict[str, Any]:
    """Two replicas; the leader is killed once a quarter of the trials ran, and the time to
    the survivor's first new pod is the takeover."""
    trials, parallel = 200, 10
    with bench(workdir, hold_s=0.5) as b:
        replicas = [b.operator("--leader-election-namespace", NS) for _ in range(2)]
        deadline = time.monotonic() + 30
        while not any(operator_metric(port, "kubenas_leader") == 1 for _, port in replicas):
            if time.monotonic() > deadline:
                raise RuntimeError("no replica became leader")
            time.sleep(0.2)
        b.api.post(EXPERIMENTS, experiment("ha", trials, parallel))
        while len(b.kubelet.created["ha"]) < trials // 4:
            time.sleep(0.05)
        (leader, _), = [r for r in replicas if operator_metric(r[1], "kubenas_leader") == 1]
        killed = time.monotonic()
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        b.wait_succeeded(["ha"])
        after = [t for t in b.kubelet.created["ha"] if t > killed]
        started = b.kubelet.started
    return {"trials": trials, "parallel": parallel, "takeover_s": after[0] - killed,
            "pods_started": len(started), "pods_started_twice": len(started) - len(set(started))}


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Operator benchmark", "",
             f"`make bench-operator` on {results['cpus']} CPUs: the kubesim API server, a "
             "kubelet that holds each pod `hold_s` (0.5x to 1.5x), and one operator process "
             "(two for the takeover). Reaction: a trial pod finished -> the next pod created.",
             ""]
    for section in ("scale", "fanout", "takeover"):
        rows = results[section]
        columns = list(rows[0])
        lines += [f"## {section}", "", "| " + " | ".join(columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(f"{r[c]:.1f}" if isinstance(r[c], float) else str(r[c])
                                    for c in columns) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def _numbers(text: str, count: int) -> list[float]:
    values = [float(x) for x in text.split("x")]
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"{text!r}: expected {count} numbers joined by x")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", nargs="+", default=["2000x200x20", "400x10x1", "400x200x0"],
                        metavar="TRIALSxPARALLELxHOLD_S")
    parser.add_argument("--fanout", default="20x50x10x20",
                        metavar="EXPERIMENTSxTRIALSxPARALLELxHOLD_S")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "scale": [], "fanout": [],
                               "takeover": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(args.scale):
            trials, parallel, hold = _numbers(text, 3)
            row = scale(int(trials), int(parallel), hold, Path(tmp) / f"scale-{i}")
            results["scale"].append(row)
            print(json.dumps(row), flush=True)
        experiments, trials, parallel, hold = _numbers(args.fanout, 4)
        row = fanout(int(experiments), int(trials), int(parallel), hold, Path(tmp) / "fanout")
        results["fanout"].append(row)
        print(json.dumps(row), flush=True)
        results["takeover"].append(takeover(Path(tmp) / "takeover"))
        print(json.dumps(results["takeover"][-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "operator.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "operator.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
