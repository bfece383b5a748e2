"""The reconcile loop against an in-memory API server and a fake kubelet."""

from __future__ import annotations

from typing import Any

import pytest
from kubenas.backends.kubernetes.reconcile import PassResult
from kubenas.backends.kubernetes.sources import Snapshot

from .conftest import NS, PODS, TRIALS, World, manifest, score
from .fake_api import Crash


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def _failed_pod(exit_code: int = 1, **status: Any) -> dict[str, Any]:
    return {"phase": "Failed", **status, "containerStatuses": [{"name": "trainer", "state": {
        "terminated": {"exitCode": exit_code, "reason": "Error", "message": "boom"}}}]}


def test_runs_to_completion_within_parallelism(world: World) -> None:
    peak = 0
    for _ in range(100):
        world.reconcile()
        active = [p for p in world.api.list(PODS)
                  if (p.get("status") or {}).get("phase") in (None, "Running")]
        peak = max(peak, len(active))
        if world.status().get("phase") == "Succeeded":
            break
        world.kubelet.step()
    status = world.status()
    assert status["phase"] == "Succeeded"
    assert _condition(status, "Succeeded")["reason"] == "MaxTrialsReached"
    assert status["progress"] == "6/6" and status["trials"]["succeeded"] == 6
    assert peak == 2
    trials = world.trials()
    assert [t["metadata"]["name"] for t in trials] == [f"e-{i}" for i in range(6)]
    best = max(trials, key=lambda t: score(t["spec"]["architecture"]))
    assert status["bestTrial"]["name"] == best["metadata"]["name"]
    assert status["bestValue"] == score(best["spec"]["architecture"])
    assert {"TrialCreated", "Started", "ExperimentSucceeded"} <= set(world.api.reasons())
    assert world.reconcile() == PassResult(True, False)  # finished: no more polling


def _architectures(world: World) -> list[Any]:
    return [t["spec"]["architecture"] for t in world.trials()]


def test_a_crash_at_any_write_changes_nothing() -> None:
    reference = World(manifest(budget={"maxParallelTrials": 1}))
    reference.run()
    writes = reference.api.writes
    for crash_at in range(0, writes, 3):
        world = World(manifest(budget={"maxParallelTrials": 1}))
        world.api.crash_after = crash_at
        for _ in range(200):
            try:
                world.reconcile()
            except Crash:
                world.restart()
                continue
            if world.status().get("phase") == "Succeeded":
                break
            world.kubelet.step()
        assert world.status()["phase"] == "Succeeded", crash_at
        assert _architectures(world) == _architectures(reference), crash_at
        assert world.status()["bestTrial"] == reference.status()["bestTrial"]
        pods = sorted(p["metadata"]["name"] for p in world.api.list(PODS))
        assert pods == [f"e-{i}-a0" for i in range(6)], crash_at


def test_evicted_trial_is_retried_without_counting_as_failed(world: World) -> None:
    world.reconcile()
    world.kubelet.step()  # both pods running
    world.kubelet.fates["e-0-a0"] = _failed_pod(137, reason="Evicted",
                                                message="The node was low on memory")
    world.kubelet.step()
    world.reconcile()
    trial = world.trials()[0]["status"]
    assert trial["phase"] == "Pending" and trial["attempt"] == 1 and trial["reason"] == "Evicted"
    assert trial["pod"] == "e-0-a1"
    assert "TrialRetried" in world.api.reasons()
    status = world.run()
    assert status["phase"] == "Succeeded" and status["trials"]["failed"] == 0


def test_deleted_pod_is_retried(world: World) -> None:
    world.reconcile()
    world.api.delete(f"{PODS}/e-1-a0")
    world.reconcile()
    assert world.trials()[1]["status"]["attempt"] == 1
    assert world.trials()[1]["status"]["reason"] == "PodDeleted"


def test_a_pod_whose_trial_the_view_lacks_yet_is_left_alone(world: World) -> None:
    """Trials and pods come from separate watches: the pod's may arrive first."""
    world.reconcile()
    world.kubelet.step()
    lagging = Snapshot([t for t in world.trials() if t["metadata"]["name"] != "e-1"],
                       world.api.list(PODS), [], None, [])
    world.clock += 1
    world.reconciler.reconcile(NS, world.name, lagging)
    assert world.api.get(f"{PODS}/e-1-a0") is not None
    assert world.trials()[1]["status"]["attempt"] == 0
    assert world.run()["trials"]["succeeded"] == 6


def test_a_pod_the_view_lacks_yet_is_asked_for_before_a_retry(world: World) -> None:
    """The trial's status (pod: e-1-a0) may arrive before the pod's own watch event."""
    world.reconcile()
    world.kubelet.step()
    lagging = Snapshot(world.trials(), [p for p in world.api.list(PODS)
                                        if p["metadata"]["name"] != "e-1-a0"], [], None, [])
    world.clock += 1
    world.reconciler.reconcile(NS, world.name, lagging)
    trial = world.trials()[1]["status"]
    assert (trial["attempt"], trial["phase"]) == (0, "Running")
    assert "TrialRetried" not in world.api.reasons()


def test_trainer_errors_fail_the_experiment_past_max_failed() -> None:
    world = World(manifest(budget={"maxFailedTrials": 2, "maxParallelTrials": 1}))
    for _ in range(50):
        world.reconcile()
        if world.status().get("phase") == "Failed":
            break
        for pod in world.api.list(PODS):
            if (pod.get("status") or {}).get("phase") == "Running":
                world.kubelet.fates[pod["metadata"]["name"]] = _failed_pod(1)
        world.kubelet.step()
    status = world.status()
    assert status["phase"] == "Failed" and status["trials"]["failed"] == 3
    failed = _condition(status, "Failed")
    assert failed["status"] == "True" and failed["reason"] == "MaxFailedTrialsReached"
    assert "exited with code 1" in failed["message"]
    assert world.metrics.trial_failures.labels("Error")._value.get() == 3


def test_deadline_exceeded_counts_as_failure(world: World) -> None:
    world.reconcile()
    world.kubelet.step()
    world.kubelet.fates["e-0-a0"] = _failed_pod(143, reason="DeadlineExceeded",
                                                message="Pod was active too long")
    world.kubelet.step()
    world.reconcile()
    trial = world.trials()[0]["status"]
    assert (trial["phase"], trial["reason"]) == ("Failed", "DeadlineExceeded")


def test_suspend_stops_trials_and_resume_reruns_them(world: World) -> None:
    world.reconcile()
    world.kubelet.step()
    world.edit({"suspend": True})
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Suspended" and _condition(status, "Suspended")["status"] == "True"
    assert {t["status"]["phase"] for t in world.trials()} == {"Stopped"}
    assert world.api.list(PODS) == []
    world.reconcile()
    assert world.api.list(PODS) == []
    world.edit({"suspend": False})
    world.reconcile()
    assert [t["status"]["attempt"] for t in world.trials()] == [1, 1]
    assert sorted(p["metadata"]["name"] for p in world.api.list(PODS)) == ["e-0-a1", "e-1-a1"]
    assert world.run()["trials"]["succeeded"] == 6


def test_mutable_edits_apply_at_once(world: World) -> None:
    world.run()
    world.edit({"budget": {"maxTrials": 8}})
    world.reconcile()
    assert world.status()["phase"] == "Running" and len(world.trials()) == 8
    assert "completionTime" not in world.status()
    status = world.run()
    assert status["progress"] == "8/8" and status["phase"] == "Succeeded"


def test_changed_search_space_is_refused(world: World) -> None:
    world.reconcile()
    world.edit({"searchSpace": {"parameters": [
        {"name": "depth", "int": {"min": 1, "max": 9}}, {"name": "width", "choice": [16]},
        {"name": "op", "choice": ["skip"], "repeat": "depth"}]}})
    world.kubelet.step()
    world.kubelet.step()
    world.reconcile()
    ready = _condition(world.status(), "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ImmutableFieldChanged")
    assert "spec.searchSpace" in ready["message"]
    assert len(world.trials()) == 2  # nothing new started


def test_gpu_aware_capacity_caps_parallelism() -> None:
    world = World(manifest(budget={"maxParallelTrials": 5, "gpuAware": True}, template={
        "resources": {"limits": {"nvidia.com/gpu": 1}},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}))
    world.api.put("/api/v1/nodes", {"metadata": {"name": "gpu-0"},
                                    "spec": {"taints": [{"key": "nvidia.com/gpu",
                                                         "effect": "NoSchedule"}]},
                                    "status": {"allocatable": {"nvidia.com/gpu": "2"},
                                               "conditions": [{"type": "Ready",
                                                               "status": "True"}]}})
    world.reconcile()
    assert len(world.trials()) == 2
    assert world.run()["trials"]["succeeded"] == 6


def test_goal_reached_stops_running_trials() -> None:
    world = World(manifest(objective={"metric": "val_accuracy", "goal": 0.5}))
    world.reconcile()
    world.kubelet.step()
    world.kubelet.fates["e-1-a0"] = {"phase": "Running"}
    world.kubelet.step()
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Succeeded"
    assert _condition(status, "Succeeded")["reason"] == "GoalReached"
    assert world.trials()[1]["status"]["phase"] == "Stopped"
    assert f"{PODS}/e-1-a0" not in world.api.objects


def test_invalid_spec_fails_with_a_condition() -> None:
    body = manifest()
    body["spec"]["budget"]["maxTrials"] = 0
    world = World(body)
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Failed"
    assert _condition(status, "Ready")["reason"] == "InvalidSpec"
    assert "spec.budget.maxTrials" in _condition(status, "Failed")["message"]


def test_a_choice_the_built_in_trainer_refuses_fails_the_spec_before_any_trial() -> None:
    """The CRD cannot bound untyped choice values; the operator checks them before trials."""
    body = manifest()
    body["spec"]["searchSpace"]["parameters"][1]["choice"] = [16, 0]
    world = World(body)
    world.reconcile()
    status = world.status()
    assert status["phase"] == "Failed" and world.trials() == []
    assert "spec.searchSpace.parameters[1].choice[1]" in _condition(status, "Failed")["message"]


def test_conditions_keep_transition_times(world: World) -> None:
    world.reconcile()
    before = {c["type"]: c["lastTransitionTime"] for c in world.status()["conditions"]}
    world.clock += 100
    world.reconcile()
    after = {c["type"]: c["lastTransitionTime"] for c in world.status()["conditions"]}
    assert before == after


@pytest.mark.parametrize("code", [409, 500])
def test_a_refused_trial_create_is_retried(world: World, code: int) -> None:
    from kubenas.backends.kubernetes.kube import ApiError

    real = world.api.create
    failures = iter([code])

    def flaky(path: str, obj: dict[str, Any]) -> dict[str, Any]:
        if path == TRIALS and next(failures, None) is not None:
            if code == 409:
                real(path, obj)
            raise ApiError(code, "injected")
        return real(path, obj)

    world.api.create = flaky  # type: ignore[method-assign]
    world.reconcile()
    world.reconcile()
    assert [t["metadata"]["name"] for t in world.trials()] == ["e-0", "e-1"]
    assert all(t["status"]["pod"] for t in world.trials())
