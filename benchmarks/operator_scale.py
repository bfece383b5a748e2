"""Operator scale benchmark (not a test): how the operator's cost grows with the trial count.

Runs `kubenas operator` as a process against the kubesim API server, with an instant kubelet
(a watch that marks every new trial pod Succeeded at once, with a result in its termination
message), so only the operator's own work is on the clock. For each trial count it prints:
- operator CPU seconds and peak RSS;
- the latency from a trial pod finishing to the next trial pod being created (p50/p95);
- operator CPU and reconcile time per trial, to see whether work per event stays flat;
- the CPU of this process (API server emulator and instant kubelet), which bounds latency.

    PYTHONPATH=operator:trainer_image:tests/cluster .venv/bin/python \\
        benchmarks/operator_scale.py --trials 100 500 2000 --parallel 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

from kubesim.apiserver import ApiServer
from kubesim.cluster import apply_crds
from kubesim.kubelet.client import ApiClient

REPO = Path(__file__).resolve().parents[1]
NS = "bench"
PODS = f"/api/v1/namespaces/{NS}/pods"
OPERATOR = ("import sys; from kubenas.backends.kubernetes.main import run_operator; "
            "sys.exit(run_operator(sys.argv[1:]))")
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class InstantKubelet:
    """Completes each trial pod as soon as it appears; records creation and finish times."""

    def __init__(self, url: str) -> None:
        self.api = ApiClient(url)
        self.created: list[float] = []
        self.finished: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            for event in self.api.watch(PODS, self.stop, timeout_seconds=600):
                pod = event["object"]
                if event["type"] == "ADDED" and (pod.get("status") or {}).get("phase") in (
                        None, "Pending"):
                    self.created.append(time.monotonic())
                    self._complete(pod)

    def _complete(self, pod: dict[str, Any]) -> None:
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        params = json.loads(env["KUBENAS_ARCHITECTURE"])["params"]
        value = sum(params.values()) / (9 * len(params))
        message = json.dumps({"metrics": {"val_accuracy": value}, "curve": [value]})
        self.api.patch(f"{PODS}/{pod['metadata']['name']}/status", {"status": {
            "phase": "Succeeded", "containerStatuses": [{"name": "trainer", "state": {
                "terminated": {"exitCode": 0, "reason": "Completed", "message": message}}}]}})
        self.finished.append(time.monotonic())


def experiment(trials: int, parallel: int) -> dict[str, Any]:
    params = [{"name": f"p{i}", "int": {"min": 0, "max": 9}} for i in range(5)]
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "scale", "namespace": NS},
            "spec": {"objective": {"metric": "val_accuracy"},
                     "searchSpace": {"family": "macro_cnn", "parameters": params},
                     "strategy": {"name": "random", "seed": 1},
                     "budget": {"maxTrials": trials, "maxParallelTrials": parallel},
                     "training": {"epochs": 1}}}


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    hwm = re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return cpu, int(hwm[1]) / 1024 if hwm else 0.0


def latencies(created: list[float], finished: list[float], parallel: int) -> list[float]:
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


def run(trials: int, parallel: int, workdir: Path) -> dict[str, float]:
    server = ApiServer()
    url = server.start()
    kubeconfig = server.write_kubeconfig(workdir / f"kubeconfig-{trials}")
    api = ApiClient(url)
    apply_crds(api, REPO / "crds")
    api.post("/api/v1/namespaces", {"metadata": {"name": NS}})
    kubelet = InstantKubelet(url)
    kubelet.thread.start()
    port = free_port()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig),
           "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO / "trainer_image")])}
    log = (workdir / f"operator-{trials}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", OPERATOR, "--namespaces", NS, "--port",
                             str(port), "--log-level", "WARNING"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        time.sleep(3)
        cpu_before, _ = process_stats(proc.pid)
        server_cpu = time.process_time()
        started = time.monotonic()
        api.post(f"/apis/kubenas.io/v1alpha1/namespaces/{NS}/nasexperiments",
                 experiment(trials, parallel))
        path = f"/apis/kubenas.io/v1alpha1/namespaces/{NS}/nasexperiments/scale"
        while (api.get(path).get("status") or {}).get("phase") != "Succeeded":
            if proc.poll() is not None:
                raise RuntimeError(f"operator exited; see {log.name}")
            time.sleep(0.5)
        wall = time.monotonic() - started
        server_cpu = time.process_time() - server_cpu
        cpu_after, rss = process_stats(proc.pid)
        reconciles = operator_metric(port, "kubenas_reconcile_duration_seconds_count")
        reconcile_s = operator_metric(port, "kubenas_reconcile_duration_seconds_sum")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        kubelet.stop.set()
        server.stop()
    lat = latencies(kubelet.created, kubelet.finished, parallel)
    cpu = cpu_after - cpu_before
    return {"trials": trials, "wall_s": wall, "cpu_s": cpu, "rss_mib": rss,
            "emulator_cpu_s": server_cpu,
            "cpu_ms_per_trial": 1000 * cpu / trials, "reconciles": reconciles,
            "reconcile_ms_mean": 1000 * reconcile_s / reconciles,
            "next_pod_p50_ms": 1000 * percentile(lat, 0.5),
            "next_pod_p95_ms": 1000 * percentile(lat, 0.95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--parallel", type=int, default=10)
    args = parser.parse_args()
    columns = ("trials", "wall_s", "cpu_s", "rss_mib", "emulator_cpu_s", "cpu_ms_per_trial",
               "reconciles",
               "reconcile_ms_mean", "next_pod_p50_ms", "next_pod_p95_ms")
    print(" ".join(f"{c:>16}" for c in columns))
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.trials:
            row = run(n, args.parallel, Path(tmp))
            print(" ".join(f"{row[c]:>16.1f}" for c in columns), flush=True)


if __name__ == "__main__":
    main()
