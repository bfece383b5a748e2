"""The cluster quickstart with the real trainer: CRDs, operator, kubectl, Prometheus, PyTorch."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, Kubectl, Operator, free_port

pytestmark = pytest.mark.slow


def helm(kubectl: Kubectl, *args: str) -> str:
    done = subprocess.run([str(REPO / ".tools" / "bin" / "helm"), "-n", kubectl.namespace,
                           *args], env=kubectl.env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_cluster_quickstart_finds_an_accurate_network(kubectl: Kubectl,
                                                      operator: Operator) -> None:
    # The platform engineer's step. The emulator runs no Deployments, so the operator under
    # test is the local process; the chart's objects (and its CRDs) must install cleanly.
    helm(kubectl, "install", "kubenas", str(REPO / "helm" / "kubenas"),
         "--set", f"watchNamespaces={{{kubectl.namespace}}}",
         "--set", f"prometheus.url={operator.cluster.prometheus_url}")
    assert kubectl.get("deployment", "kubenas")["spec"]["replicas"] == 2
    assert kubectl.get("role", "kubenas")["rules"]
    manifest = yaml.safe_load(Path(REPO / "examples" / "cluster-quickstart.yaml").read_text())
    # Pods share this machine's loopback addresses, so another test cluster may hold 9090.
    manifest["spec"]["trialTemplate"]["metricsPort"] = free_port()
    kubectl.apply(manifest)
    kubectl("wait", "--for=condition=Succeeded", "nasexperiment/cluster-quickstart",
            "--timeout=300s", timeout=320)
    status = kubectl.get("nasexperiment", "cluster-quickstart")["status"]
    assert status["bestTrial"]["metrics"]["val_accuracy"] >= 0.97
    assert status["bestTrial"]["architecture"]["depth"] == 2
    assert status["trials"]["total"] == 4 and status["progress"] == "4/4"
    header, row = kubectl("get", "nasx", "cluster-quickstart", "-o", "wide").stdout.splitlines()
    assert dict(zip(header.split(), row.split(), strict=True))["STRATEGY"] == "random"
    trials = kubectl.items("nastrials")
    assert all(t["status"]["curve"] for t in trials if t["status"]["phase"] == "Succeeded")
    queries = re.search(r'kubenas_prometheus_queries_total\{result="success"\} (\S+)',
                        operator.metrics())
    assert queries and float(queries[1]) > 0
    events = {e["reason"] for e in kubectl.items("events")}
    assert {"Started", "TrialCreated", "ExperimentSucceeded"} <= events
    helm(kubectl, "uninstall", "kubenas")
