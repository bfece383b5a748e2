"""Restarts, lost pods, trainer failures, timeouts and a misbehaving API server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubesim.cluster import Cluster

from .conftest import (
    Kubectl,
    Operator,
    condition,
    experiment,
    wait_for,
    wait_phase,
)

pytestmark = pytest.mark.slow


def _trials(kubectl: Kubectl) -> list[dict[str, Any]]:
    return sorted(kubectl.items("nastrials"), key=lambda t: t["spec"]["index"])


def _outcome(kubectl: Kubectl, name: str) -> tuple[list[str], list[Any], dict[str, Any]]:
    trials = _trials(kubectl)
    return ([t["metadata"]["name"] for t in trials], [t["spec"]["architecture"] for t in trials],
            kubectl.get("nasexperiment", name)["status"]["bestTrial"])


def test_killing_the_operator_anywhere_changes_nothing(
        kubectl: Kubectl, operator: Operator, cluster: Cluster, core: Any,
        tmp_path: Path) -> None:
    reference_ns = f"{kubectl.namespace}-ref"
    core.create_namespace({"metadata": {"name": reference_ns}})
    reference = Kubectl(cluster, reference_ns)
    (tmp_path / "ref").mkdir()
    reference_operator = Operator(cluster, reference_ns, tmp_path / "ref").start()
    body = experiment("restart", trials=8, parallel=2)
    reference.apply(body)
    kubectl.apply(body)
    points = {
        "during trial creation": lambda: len(kubectl.items("nastrials")) >= 1,
        "mid-run": lambda: len(kubectl.items("nastrials")) >= 4,
        "during completion": lambda: len(kubectl.items("nastrials")) == 8,
    }
    for what, reached in points.items():
        wait_for(reached, timeout=60, what=what)
        operator.kill()
        operator.start()
    try:
        assert wait_phase(kubectl, "restart")["status"]["phase"] == "Succeeded"
        assert wait_phase(reference, "restart")["status"]["phase"] == "Succeeded"
    finally:
        reference_operator.stop()
    names, archs, best = _outcome(kubectl, "restart")
    assert names == [f"restart-{i}" for i in range(8)]
    assert sorted(p["metadata"]["name"] for p in kubectl.items("pods")) == sorted(
        f"restart-{i}-a0" for i in range(8))  # no trial started twice
    assert (archs, best) == _outcome(reference, "restart")[1:]
    core.delete_namespace(reference_ns)


def test_evicted_pod_is_retried_not_failed(kubectl: Kubectl, operator: Operator,
                                           cluster: Cluster, namespace: str) -> None:
    kubectl.apply(experiment("evict", trials=2, parallel=1, epochs=10))
    wait_for(lambda: _phase(kubectl, "pod", "evict-0-a0") == "Running", timeout=30,
             what="the first pod running")
    assert cluster.kubelet is not None
    cluster.kubelet.evict(namespace, "evict-0-a0")
    status = wait_phase(kubectl, "evict")["status"]
    assert status["phase"] == "Succeeded" and status["trials"]["failed"] == 0
    first = _trials(kubectl)[0]["status"]
    assert (first["attempt"], first["reason"], first["phase"]) == (1, "Completed", "Succeeded")
    reasons = [e["reason"] for e in kubectl.items("events")]
    assert "TrialRetried" in reasons and "TrialFailed" not in reasons


def _phase(kubectl: Kubectl, kind: str, name: str) -> str | None:
    proc = kubectl("get", kind, name, "-o", "jsonpath={.status.phase}", check=False)
    return proc.stdout or None


def test_repeated_trainer_errors_fail_the_experiment(kubectl: Kubectl,
                                                     operator: Operator) -> None:
    kubectl.apply(experiment("crash", trials=6, parallel=1, budget={"maxFailedTrials": 2},
                             env={"FAKE_MODE": "crash"}))
    kubectl("wait", "--for=condition=Failed", "nasexperiment/crash", "--timeout=60s",
            timeout=70)
    obj = kubectl.get("nasexperiment", "crash")
    failed = condition(obj, "Failed")
    assert failed["reason"] == "MaxFailedTrialsReached"
    assert "exited with code 1" in failed["message"] and "simulated CUDA error" in failed["message"]
    assert obj["status"]["trials"]["failed"] == 3
    assert 'kubenas_trial_failures_total{reason="Error"} 3.0' in operator.metrics()


def test_trial_timeout_is_deadline_exceeded(kubectl: Kubectl, operator: Operator) -> None:
    kubectl.apply(experiment("slow", trials=1, parallel=1, budget={"trialTimeout": "2s",
                                                                    "maxFailedTrials": 0},
                             env={"FAKE_MODE": "hang"}))
    obj = wait_phase(kubectl, "slow")
    assert obj["status"]["phase"] == "Failed"
    trial = _trials(kubectl)[0]["status"]
    assert (trial["phase"], trial["reason"]) == ("Failed", "DeadlineExceeded")


def test_api_server_errors_and_dropped_watches(kubectl: Kubectl, operator: Operator,
                                               cluster: Cluster) -> None:
    faults = cluster.apiserver.faults
    kubectl.apply(experiment("flaky", trials=6, parallel=2))
    wait_for(lambda: kubectl.items("nastrials"), timeout=30, what="a first trial")
    faults.fail_next(3, 500, "POST", r"/nastrials$")
    faults.fail_next(2, 409, "POST", r"/pods$")
    faults.fail_next(4, 500, "PATCH", r"/status$")
    faults.fail_next(3, 500, "GET", r"/nastrials$")
    faults.close_watches()
    time.sleep(3)  # the operator (polling every 0.5s) and kopf take the faults, not kubectl
    wait_for(lambda: len(kubectl.items("nastrials")) >= 4, timeout=60, what="more trials")
    faults.close_watches()
    status = wait_phase(kubectl, "flaky")["status"]
    assert status["phase"] == "Succeeded" and status["trials"]["succeeded"] == 6
    names = sorted(t["metadata"]["name"] for t in kubectl.items("nastrials"))
    assert names == sorted(f"flaky-{i}" for i in range(6))
    assert len(kubectl.items("pods")) == 6
