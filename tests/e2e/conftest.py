"""End-to-end fixtures: the kubesim cluster, an operator process per test, kubectl.

Each test gets a namespace and an operator that watches only it, so a test can kill and
restart its operator without touching the others.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubesim.cluster import Cluster
from kubesim.testing_kubelet import wait_for

REPO = Path(__file__).resolve().parents[2]
FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Kubectl:
    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        self.binary = str(REPO / ".tools" / "bin" / "kubectl")
        self.namespace = namespace

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.binary, "-n", self.namespace, *args], input=stdin,
                              capture_output=True, text=True, env=self.env, timeout=timeout,
                              check=False)
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def apply(self, manifest: dict[str, Any]) -> None:
        self("apply", "-f", "-", stdin=yaml.safe_dump(manifest))

    def get(self, kind: str, name: str = "") -> Any:
        return json.loads(self("get", kind, *([name] if name else []), "-o", "json").stdout)

    def items(self, kind: str) -> list[dict[str, Any]]:
        return list(self.get(kind)["items"])


class Operator:
    """`kubenas operator` as a local process, killable at any moment."""

    def __init__(self, cluster: Cluster, namespace: str, workdir: Path,
                 extra: tuple[str, ...] = ()) -> None:
        self.cluster, self.namespace, self.workdir = cluster, namespace, workdir
        self.port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Operator:
        self.starts += 1
        env = {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig),
               "PYTHONPATH": os.pathsep.join([str(REPO / "operator"),
                                              str(REPO / "trainer_image")])}
        log = open(self.workdir / f"operator-{self.starts}.log", "wb")  # noqa: SIM115
        args = ["--namespaces", self.namespace, "--port", str(self.port),
                "--reconcile-interval", "0.5", "--prometheus-url", self.cluster.prometheus_url,
                *self.extra]
        self.proc = subprocess.Popen([sys.executable, "-m", "kubenas", "operator", *args], env=env,
                                     stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.healthy, timeout=30, what="operator /healthz")
        return self

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                return True
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a node loss or OOM kill would do it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:]
                         for p in sorted(self.workdir.glob("operator-*.log")))


@pytest.fixture
def kubectl(cluster: Cluster, namespace: str) -> Kubectl:
    return Kubectl(cluster, namespace)


@pytest.fixture
def operator(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[Operator]:
    op = Operator(cluster, namespace, tmp_path).start()
    yield op
    op.stop()
    print(op.logs())  # pytest shows it only when the test failed


def experiment(name: str, *, trials: int = 6, parallel: int = 2, epochs: int = 2,
               budget: dict[str, Any] | None = None, env: dict[str, str] | None = None,
               template: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """A NASExperiment run by the fake trainer, on its own metrics port."""
    trainer_env = [{"name": k, "value": v} for k, v in {"FAKE_EPOCH_S": "0.2",
                                                         **(env or {})}.items()]
    return {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": name},
        "spec": {
            "objective": {"metric": "val_accuracy"},
            "searchSpace": {"family": "macro_cnn", "parameters": [
                {"name": "depth", "int": {"min": 1, "max": 4}},
                {"name": "width", "choice": [16, 32, 48, 64]}]},
            "strategy": {"name": "random", "seed": 5},
            "budget": {"maxTrials": trials, "maxParallelTrials": parallel, **(budget or {})},
            "training": {"epochs": epochs},
            "trialTemplate": {"image": "ghcr.io/kubenas/trainer:test",
                              "command": [sys.executable, FAKE_TRAINER], "env": trainer_env,
                              "metricsPort": free_port(), **(template or {})},
            **spec,
        },
    }


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == kind), {})


def wait_phase(kubectl: Kubectl, name: str, phases: tuple[str, ...] = ("Succeeded", "Failed"),
               timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        obj = kubectl.get("nasexperiment", name)
        return obj if (obj.get("status") or {}).get("phase") in phases else None

    return wait_for(done, timeout=timeout, what=f"{name} in {phases}")

