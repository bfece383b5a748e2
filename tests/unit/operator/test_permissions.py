"""Every call the operator makes is one the chart's RBAC grants (and the table is all it
grants: tests/unit/deploy checks the chart against the same table)."""

from __future__ import annotations

import json

from kubenas.backends.kubernetes import permissions
from kubenas.backends.kubernetes.leader import LeaderElection

from .conftest import World, manifest
from .fake_api import FakeApi

GRANTED = {**permissions.NAMESPACED}
for rule, verbs in {**permissions.OWN_NAMESPACE, **permissions.NODE_ACCESS}.items():
    GRANTED[rule] = GRANTED.get(rule, frozenset()) | verbs


def _used(api: FakeApi) -> set[tuple[tuple[str, str], str]]:
    return {permissions.needed(method, path) for method, path in api.calls}


def test_every_call_of_a_search_is_granted() -> None:
    used: set[tuple[tuple[str, str], str]] = set()
    plain = World(manifest(budget={"maxTrials": 3, "maxFailedTrials": 0}))
    plain.kubelet.fates["e-1-a0"] = {"phase": "Failed", "reason": "Evicted"}
    plain.run()
    used |= _used(plain.api)
    gpus = World(manifest(name="g", budget={"gpuAware": True}, template={
        "resources": {"limits": {"nvidia.com/gpu": 1}}, "workload": {"kind": "Job"}}))
    gpus.api.put("/api/v1/nodes", {"metadata": {"name": "gpu-0"}, "status": {
        "allocatable": {"nvidia.com/gpu": "2"},
        "conditions": [{"type": "Ready", "status": "True"}]}})
    for _ in range(3):
        gpus.reconcile()
    used |= _used(gpus.api)
    election = LeaderElection(plain.api, "kubenas", "op", "a")
    election.step()
    election.step()
    election.release()
    used |= _used(plain.api)
    missing = {(rule, verb) for rule, verb in used if verb not in GRANTED.get(rule, ())}
    assert not missing, json.dumps(sorted(map(str, missing)))
    assert (("", "pods"), "create") in used and (("batch", "jobs"), "create") in used


def test_the_table_grants_only_what_something_uses() -> None:
    """Each granted verb is used by a call above or by Kopf's watches (list and watch)."""
    watched = {("kubenas.io", "nasexperiments"), ("kubenas.io", "nastrials"), ("", "pods"),
               ("batch", "jobs"), ("", "nodes")}
    for rule, verbs in GRANTED.items():
        for verb in verbs:
            if verb in ("list", "watch"):
                assert rule in watched, (rule, verb)
    assert permissions.needed("GET", "/api/v1/namespaces/a/pods") == (("", "pods"), "list")
    assert permissions.needed(
        "PATCH", "/apis/kubenas.io/v1alpha1/namespaces/a/nastrials/t/status") == (
        ("kubenas.io", "nastrials/status"), "patch")
