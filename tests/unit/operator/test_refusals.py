"""What the API server refuses becomes status: the pass goes on, refusals are retried slowly,
conditions follow kstatus, and no non-finite number is ever sent."""

from __future__ import annotations

import json
from typing import Any

from kubenas.api.schema import experiment_spec_schema
from kubenas.api.status_schema import condition_schema
from kubenas.api.validate import validate
from kubenas.backends.kubernetes.kube import ApiError

from .conftest import NS, PODS, TRIALS, World, manifest


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def _kstatus(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]
            if c["type"] in ("Ready", "Reconciling", "Stalled")}


def test_a_forbidden_pod_stalls_the_experiment_and_the_pass_goes_on() -> None:
    world = World(manifest(budget={"maxTrials": 6, "maxParallelTrials": 2}))
    world.reconcile()
    world.kubelet.step()
    world.kubelet.step()  # e-0 and e-1 have finished
    world.api.refuse("POST", "/pods$", 403, 'pods "e-2-a0" is forbidden: exceeded quota: '
                                            "gpu, requested: requests.nvidia.com/gpu=1")
    world.reconcile()
    status = world.status()
    assert status["trials"]["succeeded"] == 2  # the finished trials were still recorded
    assert _kstatus(status) == {"Ready": "False", "Reconciling": "False", "Stalled": "True"}
    stalled = _condition(status, "Stalled")
    assert stalled["reason"] == "PodCreateForbidden" and "exceeded quota" in stalled["message"]
    assert world.api.reasons().count("PodCreateForbidden") == 1
    tries = sum(1 for m, p in world.api.calls if m == "POST" and p.endswith("/pods"))
    for _ in range(5):  # within the refusal backoff: shown, not hammered
        world.reconcile()
    assert sum(1 for m, p in world.api.calls if m == "POST" and p.endswith("/pods")) == tries
    assert world.api.reasons().count("PodCreateForbidden") == 1
    world.api.allow()
    world.clock += 31
    world.reconcile()
    status = world.status()
    assert _kstatus(status) == {"Ready": "False", "Reconciling": "True", "Stalled": "False"}
    assert f"{PODS}/e-2-a0" in world.api.objects


def test_an_invalid_trial_is_shown_and_retried_slowly() -> None:
    world = World(manifest())
    world.api.refuse("POST", f"{TRIALS}$", 422, 'NASTrial.kubenas.io "e-0" is invalid: '
                                               "spec.budget: Invalid value")
    for _ in range(10):
        world.reconcile()
    stalled = _condition(world.status(), "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "TrialInvalid")
    assert sum(1 for m, p in world.api.calls if m == "POST" and p == TRIALS) == 1
    assert _condition(world.status(), "Ready")["status"] == "False"


def test_kstatus_conditions_through_a_whole_search() -> None:
    world = World(manifest())
    world.reconcile()
    running = world.status()
    assert running["phase"] == "Running"
    assert _kstatus(running) == {"Ready": "False", "Reconciling": "True", "Stalled": "False"}
    done = world.run()
    assert done["phase"] == "Succeeded"
    assert _kstatus(done) == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}
    generation = world.experiment()["metadata"]["generation"]
    assert done["observedGeneration"] == generation
    assert all(c["observedGeneration"] == generation for c in done["conditions"])
    failing = World(manifest(name="f", budget={"maxFailedTrials": 0}))
    failing.reconcile()
    failing.kubelet.fates["f-0-a0"] = {"phase": "Failed", "containerStatuses": [{
        "name": "trainer", "state": {"terminated": {"exitCode": 1, "message": "boom"}}}]}
    failed = failing.run()
    assert failed["phase"] == "Failed"
    assert _kstatus(failed) == {"Ready": "False", "Reconciling": "False", "Stalled": "True"}
    assert _condition(failed, "Stalled")["reason"] == "MaxFailedTrialsReached"


def test_every_condition_the_operator_writes_fits_the_crd() -> None:
    world = World(manifest())
    world.reconcile()
    world.edit({"fidelity": {"min": 1, "max": 3}})  # refused edit: a stall with a reason
    world.reconcile()
    for status in (world.status(), World(manifest(name="x", budget={"maxTrials": 0})).status()):
        for condition in status.get("conditions") or []:
            assert validate(condition_schema(), condition)[1] == [], condition
    assert _condition(world.status(), "Stalled")["reason"] == "ImmutableFieldChanged"
    assert "spec.fidelity" in _condition(world.status(), "Stalled")["message"]


def test_training_and_fidelity_are_immutable_once_trials_exist() -> None:
    rules = [r["rule"] for r in experiment_spec_schema().get("x-kubernetes-validations", [])]
    assert rules  # the spec rules; the transition rules sit on the CRD root
    from kubenas.api import crd

    root = crd.experiment_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    paths = {r.get("fieldPath") for r in root["x-kubernetes-validations"]}
    assert {".spec.training", ".spec.fidelity"} <= paths
    world = World(manifest())
    world.reconcile()
    world.edit({"training": {"epochs": 40}})
    world.reconcile()
    assert _condition(world.status(), "Stalled")["reason"] == "ImmutableFieldChanged"


def test_a_nan_metric_never_reaches_the_api_server() -> None:
    world = World(manifest(budget={"maxTrials": 2, "maxParallelTrials": 2}))
    world.reconcile()
    result = {"metrics": {"val_accuracy": 0.9, "val_loss": float("nan")}, "curve": [0.9]}
    nan_objective = {"metrics": {"val_accuracy": float("nan")}}
    for pod, body in (("e-0-a0", result), ("e-1-a0", nan_objective)):
        world.kubelet.fates[pod] = {"phase": "Succeeded", "containerStatuses": [{
            "name": "trainer", "state": {"terminated": {
                "exitCode": 0, "message": json.dumps(body)}}}]}
    world.run()
    ok, bad = world.trials()
    assert ok["status"]["phase"] == "Succeeded" and "val_loss" not in ok["status"]["metrics"]
    assert "dropped metrics.val_loss" in ok["status"]["message"]
    assert (bad["status"]["phase"], bad["status"]["reason"]) == ("Failed",
                                                                "NonFiniteObjective")
    for obj in world.api.objects.values():
        json.dumps(obj, allow_nan=False)


def test_kube_refuses_to_send_a_non_finite_number() -> None:
    from kubenas.backends.kubernetes.kube import Kube

    kube = Kube(api_client=None)  # type: ignore[arg-type]  # never reached
    try:
        kube.request("PATCH", "/x", {"status": {"value": float("inf")}})
    except ApiError as exc:
        assert exc.status == 400 and "non-finite" in str(exc)
    else:
        raise AssertionError("sent a non-finite number")


def test_a_retry_waits_until_the_previous_pod_is_gone() -> None:
    world = World(manifest(budget={"maxTrials": 1}))
    world.reconcile()
    pod = world.api.objects[f"{PODS}/e-0-a0"]
    pod["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"  # a drain: terminating
    pod["status"] = {"phase": "Running"}
    world.reconcile()  # seen as lost: a new attempt is recorded...
    assert world.trials()[0]["status"]["attempt"] == 1
    world.reconcile()
    assert f"{PODS}/e-0-a1" not in world.api.objects  # ...but not started beside the old pod
    del world.api.objects[f"{PODS}/e-0-a0"]
    world.reconcile()
    assert f"{PODS}/e-0-a1" in world.api.objects


def test_finished_pods_beyond_the_kept_ones_are_deleted() -> None:
    world = World(manifest(budget={"maxTrials": 6, "maxParallelTrials": 2}))
    world.reconciler.settings.keep_finished_pods = 2
    world.run()
    world.reconcile()
    left = sorted(k for k in world.api.objects if k.startswith(f"{PODS}/"))
    assert left == [f"{PODS}/e-4-a0", f"{PODS}/e-5-a0"]
    assert all(t["status"]["phase"] == "Succeeded" for t in world.trials())


def test_a_finished_or_deleted_experiment_leaves_nothing_in_memory() -> None:
    key = (NS, "e")
    for finish in ("run", "delete"):
        world = World(manifest())
        world.reconcile()
        assert key in world.reconciler._specs and world.reconciler._records[key]
        if finish == "run":
            world.run()
        else:
            world.api.objects.clear()
            world.reconcile()
        assert key not in world.reconciler._specs and key not in world.reconciler._records
