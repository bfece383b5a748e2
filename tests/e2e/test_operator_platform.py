"""The operator against what a real platform does: quotas, NaN, drains, policies, Jobs, and
the status GitOps tools read, recorded from the runs themselves."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kubesim.cluster import Cluster

from tests.unit.deploy.test_deploy_argocd import health

from .conftest import REPO, Kubectl, Operator, condition, experiment, wait_for, wait_phase

pytestmark = pytest.mark.slow


def _operator(cluster: Cluster, kubectl: Kubectl, tmp_path: Path, *extra: str) -> Operator:
    return Operator(cluster, kubectl.namespace, tmp_path, extra=("--refused-retry", "1",
                                                                 *extra)).start()


def _live(kubectl: Kubectl) -> list[dict[str, Any]]:
    return [p for p in kubectl.items("pods")
            if p["status"].get("phase") not in ("Succeeded", "Failed")]


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus' reading of a custom resource (sigs.k8s.io/cli-utils pkg/kstatus/status):
    generation first, then the first true Reconciling or Stalled condition."""
    status = obj.get("status") or {}
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return "InProgress"
    for c in status.get("conditions") or []:
        if c["type"] == "Reconciling" and c["status"] == "True":
            return "InProgress"
        if c["type"] == "Stalled" and c["status"] == "True":
            return "Failed"
    return "Current"


def argocd(obj: dict[str, Any]) -> str:
    """The chart's Argo CD health check, run by lua5.4 on the recorded object."""
    return health(obj)[0]


def test_a_quota_stalls_the_search_visibly_and_it_goes_on_once_freed(
        kubectl: Kubectl, cluster: Cluster, core: Any, tmp_path: Path) -> None:
    core.create_namespaced_resource_quota(kubectl.namespace, {
        "metadata": {"name": "two-pods"}, "spec": {"hard": {"pods": "1"}}})
    operator = _operator(cluster, kubectl, tmp_path)
    try:
        kubectl.apply(experiment("quota", trials=3, parallel=2, env={"FAKE_EPOCH_S": "1"}))
        seen: dict[str, Any] = {}

        def stalled() -> bool:
            obj = kubectl.get("nasexperiment", "quota")
            if condition(obj, "Stalled").get("status") == "True":
                seen.update(obj)
                return True
            return False

        wait_for(stalled, timeout=60, what="Stalled=True")
        stall = condition(seen, "Stalled")
        assert stall["reason"] == "PodCreateForbidden" and "exceeded quota" in stall["message"]
        assert seen["status"]["phase"] == "Running"
        assert (kstatus(seen), argocd(seen)) == ("Failed", "Degraded")
        obj = wait_phase(kubectl, "quota", timeout=120)
        assert obj["status"]["phase"] == "Succeeded" and obj["status"]["progress"] == "3/3"
        assert condition(obj, "Stalled")["status"] == "False"
        warnings = [e for e in kubectl.items("events") if e["reason"] == "PodCreateForbidden"]
        assert warnings and all(e["type"] == "Warning" for e in warnings)
    finally:
        operator.stop()


def test_a_nan_metric_is_dropped_and_the_objects_stay_readable(
        kubectl: Kubectl, operator: Operator) -> None:
    kubectl.apply(experiment("nan", trials=2, parallel=2, env={"FAKE_MODE": "nan-loss"}))
    obj = wait_phase(kubectl, "nan", timeout=60)
    assert obj["status"]["phase"] == "Succeeded"
    for trial in kubectl.items("nastrials"):
        assert "val_loss" not in trial["status"]["metrics"]
        assert "dropped metrics.val_loss" in trial["status"]["message"]
    json.loads(kubectl("get", "nasx,nast", "-o", "json").stdout)  # strict JSON throughout


def test_a_drained_node_moves_the_trial_and_never_runs_two_pods(
        kubectl: Kubectl, operator: Operator, cluster: Cluster) -> None:
    kubectl.apply(experiment("drain", trials=1, parallel=1, epochs=40,
                             env={"FAKE_EPOCH_S": "0.25"}))
    wait_for(lambda: any(p["status"].get("phase") == "Running" for p in _live(kubectl)),
             timeout=30, what="the trial running")
    (pod,) = _live(kubectl)
    node = pod["spec"]["nodeName"]
    drain = subprocess.Popen([str(REPO / ".tools" / "bin" / "kubectl"), "drain", node,
                              "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                              "--timeout=60s"], env=kubectl.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    most = 0
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and drain.poll() is None:
            most = max(most, len(_live(kubectl)))
            time.sleep(0.1)
        assert drain.wait(60) == 0, drain.stdout.read() if drain.stdout else ""
        obj = wait_phase(kubectl, "drain", timeout=90)
    finally:
        kubectl("uncordon", node)
    while True:
        most = max(most, len(_live(kubectl)))
        if not _live(kubectl):
            break
        time.sleep(0.1)
    assert most == 1, "two pods of one trial ran at once"
    assert obj["status"]["phase"] == "Succeeded"
    (trial,) = kubectl.items("nastrials")
    assert trial["status"]["attempt"] == 1  # one retry, no failure counted
    assert obj["status"]["trials"]["failed"] == 0


def test_a_template_the_policy_refuses_stalls_naming_the_field(
        kubectl: Kubectl, operator: Operator) -> None:
    body = experiment("hostpath", trials=1, template={
        "volumes": [{"name": "host", "hostPath": {"path": "/etc"}}]})
    kubectl.apply(body)
    wait_for(lambda: condition(kubectl.get("nasexperiment", "hostpath"), "Stalled").get(
        "status") == "True", timeout=30, what="Stalled=True")
    stall = condition(kubectl.get("nasexperiment", "hostpath"), "Stalled")
    assert stall["reason"] == "TrialPodPolicy"
    assert "spec.trialTemplate.volumes[0].hostPath" in stall["message"]
    assert not kubectl.items("pods")


def test_a_trial_can_be_an_indexed_job_of_several_pods(
        kubectl: Kubectl, operator: Operator) -> None:
    kubectl.apply(experiment("multi", trials=2, parallel=2,
                             template={"workload": {"kind": "Job", "replicas": 2}}))
    obj = wait_phase(kubectl, "multi", timeout=120)
    assert obj["status"]["phase"] == "Succeeded" and obj["status"]["trials"]["succeeded"] == 2
    jobs = kubectl.items("jobs")
    assert {j["spec"]["completionMode"] for j in jobs} == {"Indexed"}
    assert all(j["spec"]["completions"] == 2 for j in jobs)
    pods = kubectl.items("pods")
    assert len(pods) == 4 and all(p["metadata"]["labels"]["kubenas.io/trial"] for p in pods)
    assert all(t["status"]["metrics"]["val_accuracy"] > 0 for t in kubectl.items("nastrials"))


def test_recorded_statuses_read_right_in_kstatus_and_argo_cd(
        kubectl: Kubectl, operator: Operator) -> None:
    """Running, succeeded and failed experiments as the operator wrote them."""
    kubectl.apply(experiment("ok", trials=2, parallel=1, env={"FAKE_EPOCH_S": "0.5"}))
    kubectl.apply(experiment("bad", trials=2, budget={"maxFailedTrials": 0},
                             env={"FAKE_MODE": "crash"}))
    running = wait_for(lambda: (o := kubectl.get("nasexperiment", "ok")).get(
        "status", {}).get("phase") == "Running" and o, timeout=30, what="running")
    done, failed = wait_phase(kubectl, "ok"), wait_phase(kubectl, "bad")
    recorded = {"running": running, "succeeded": done, "failed": failed}
    readings = {k: (kstatus(v), argocd(v)) for k, v in recorded.items()}
    assert readings == {"running": ("InProgress", "Progressing"),
                        "succeeded": ("Current", "Healthy"),
                        "failed": ("Failed", "Degraded")}
    for obj in recorded.values():
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        assert all(c["reason"] for c in obj["status"]["conditions"])
    assert condition(done, "Ready")["status"] == "True"
    assert condition(running, "Ready")["status"] == "False"
