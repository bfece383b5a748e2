"""GPU-aware parallelism, suspend/resume, spec edits and deletion, driven through kubectl."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kubesim.cluster import Cluster

from .conftest import Kubectl, Operator, condition, experiment, wait_for, wait_phase

pytestmark = pytest.mark.slow

GPU_TEMPLATE = {"resources": {"limits": {"nvidia.com/gpu": 1}},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                                 "effect": "NoSchedule"}]}


def _patch(kubectl: Kubectl, name: str, patch: dict, check: bool = True) -> str:
    proc = kubectl("patch", "nasexperiment", name, "--type=merge", "-p", json.dumps(patch),
                   check=check)
    return proc.stderr


def _live_pods(kubectl: Kubectl) -> list[dict]:
    return [p for p in kubectl.items("pods")
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]


def test_gpu_aware_parallelism_never_piles_up_pods(kubectl: Kubectl,
                                                   operator: Operator) -> None:
    kubectl.apply(experiment("gpus", trials=6, parallel=5, budget={"gpuAware": True},
                             template=GPU_TEMPLATE, env={"FAKE_EPOCH_S": "0.4"}))
    peak = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        peak = max(peak, len(_live_pods(kubectl)))
        obj = kubectl.get("nasexperiment", "gpus")
        if (obj.get("status") or {}).get("phase") == "Succeeded":
            break
        time.sleep(0.2)
    assert obj["status"]["phase"] == "Succeeded"
    assert peak == 2  # two fake GPUs on gpu-0, whatever maxParallelTrials says
    assert all(p["spec"]["nodeName"] == "gpu-0" for p in kubectl.items("pods"))


def test_suspend_stops_trials_and_resume_reruns_them(kubectl: Kubectl,
                                                     operator: Operator) -> None:
    kubectl.apply(experiment("pause", trials=4, parallel=2, epochs=20))
    wait_for(lambda: len([p for p in _live_pods(kubectl)
                          if p["status"].get("phase") == "Running"]) == 2,
             timeout=30, what="two running trials")
    _patch(kubectl, "pause", {"spec": {"suspend": True}})
    obj = wait_phase(kubectl, "pause", ("Suspended",), timeout=30)
    assert condition(obj, "Suspended")["status"] == "True"
    wait_for(lambda: not _live_pods(kubectl), timeout=30, what="trial pods gone")
    assert {t["status"]["phase"] for t in kubectl.items("nastrials")} == {"Stopped"}
    time.sleep(2)
    assert not _live_pods(kubectl) and len(kubectl.items("nastrials")) == 2
    _patch(kubectl, "pause", {"spec": {"suspend": False}})  # training is immutable by now
    status = wait_phase(kubectl, "pause", timeout=120)["status"]
    assert status["phase"] == "Succeeded" and status["trials"]["succeeded"] == 4
    attempts = {t["metadata"]["name"]: t["status"]["attempt"] for t in kubectl.items("nastrials")}
    assert attempts["pause-0"] == 1 and attempts["pause-1"] == 1
    reasons = {e["reason"] for e in kubectl.items("events")}
    assert {"Suspended", "Resumed"} <= reasons


def test_mutable_edit_applies_and_immutable_edit_is_rejected(kubectl: Kubectl,
                                                             operator: Operator) -> None:
    kubectl.apply(experiment("edit", trials=2, parallel=1))
    assert wait_phase(kubectl, "edit")["status"]["progress"] == "2/2"
    _patch(kubectl, "edit", {"spec": {"budget": {"maxTrials": 4, "maxParallelTrials": 2}}})
    status = wait_phase(kubectl, "edit", timeout=60)["status"]
    wait_for(lambda: kubectl.get("nasexperiment", "edit")["status"]["progress"] == "4/4",
             timeout=60, what="the two extra trials")
    assert status["phase"] == "Succeeded"
    stderr = _patch(kubectl, "edit", {"spec": {"searchSpace": {"family": "nb201"}}},
                    check=False)
    assert "spec.searchSpace" in stderr and "immutable" in stderr
    assert kubectl.get("nasexperiment", "edit")["spec"]["searchSpace"]["family"] == "macro_cnn"
    for field, value in (("training", {"epochs": 40}), ("fidelity", {"min": 1, "max": 9})):
        stderr = _patch(kubectl, "edit", {"spec": {field: value}}, check=False)
        assert f"spec.{field} is immutable once trials exist" in stderr


def test_deleting_an_experiment_cascades_without_the_operator(
        kubectl: Kubectl, operator: Operator, cluster: Cluster) -> None:
    kubectl.apply(experiment("gone", trials=4, parallel=2, epochs=50))
    wait_for(lambda: len(_live_pods(kubectl)) == 2, timeout=30, what="two trial pods")
    obj = kubectl.get("nasexperiment", "gone")
    assert not obj["metadata"].get("finalizers")
    operator.kill()
    kubectl("delete", "nasexperiment", "gone", "--timeout=30s", timeout=40)
    wait_for(lambda: not kubectl.items("nastrials") and not kubectl.items("pods"), timeout=30,
             what="trials and pods collected")


@pytest.mark.parametrize("mode", ["prometheus", "direct"])
def test_running_trials_get_learning_curves(kubectl: Kubectl, cluster: Cluster,
                                            namespace: str, tmp_path: Path, mode: str) -> None:
    operator = Operator(cluster, namespace, tmp_path, extra=("--metrics-mode", mode)).start()
    try:
        kubectl.apply(experiment("curves", trials=1, parallel=1, epochs=30,
                                 env={"FAKE_EPOCH_S": "0.3"}))

        def running_curve() -> list[float] | None:
            trials = kubectl.items("nastrials")
            status = (trials[0].get("status") or {}) if trials else {}
            return status.get("curve") if status.get("phase") == "Running" else None

        curve = wait_for(lambda: len(running_curve() or []) >= 2, timeout=30,
                         what="a curve on the running trial") and running_curve()
        assert curve and all(0 < v < 1 for v in curve)
        metrics = operator.metrics()
        assert ('kubenas_prometheus_queries_total{result="success"}' in metrics) == (
            mode == "prometheus")
    finally:
        operator.stop()
        print(operator.logs())
