"""The cluster quickstart with the real trainer: CRDs, operator, kubectl, Prometheus, PyTorch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, Kubectl, Operator, free_port

pytestmark = pytest.mark.slow


def test_cluster_quickstart_finds_an_accurate_network(kubectl: Kubectl,
                                                      operator: Operator) -> None:
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
    trials = kubectl.items("nastrials")
    assert all(t["status"]["curve"] for t in trials if t["status"]["phase"] == "Succeeded")
    queries = re.search(r'kubenas_prometheus_queries_total\{result="success"\} (\S+)',
                        operator.metrics())
    assert queries and float(queries[1]) > 0
    events = {e["reason"] for e in kubectl.items("events")}
    assert {"Started", "TrialCreated", "ExperimentSucceeded"} <= events
