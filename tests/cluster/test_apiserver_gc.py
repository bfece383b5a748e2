"""Deletion: finalizers, graceful pod deletion, owner-reference cascades, namespaces."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer
from kubesim.testing import MERGE, NamespaceApi


@pytest.fixture
def api(apiserver: ApiServer, widget_crd: dict, ns: str) -> NamespaceApi:
    return NamespaceApi(apiserver.url, ns)


def owned_by(owner: dict[str, Any], block: bool = False) -> list[dict[str, Any]]:
    return [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
             "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": block}]


def widget(name: str, owner: dict[str, Any] | None = None, block: bool = False) -> dict:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = owned_by(owner, block)
    return {"apiVersion": "test.kubesim.io/v1", "kind": "Widget", "metadata": meta,
            "spec": {"size": 1}}


def pod(name: str, owner: dict[str, Any] | None = None, node: str | None = None,
        block: bool = False) -> dict:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = owned_by(owner, block)
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": meta, "spec": spec}


def test_finalizers_hold_deletion(api: NamespaceApi) -> None:
    api.create("configmaps", {"metadata": {"name": "c", "finalizers": ["test/hold"]}})
    assert api.delete("configmaps", "c").status_code == 200
    held = api.get("configmaps", "c")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    added = api.patch("configmaps", "c", {"metadata": {"finalizers": ["test/hold", "new/one"]}})
    assert added.status_code == 422
    assert "no new finalizers can be added" in added.json()["message"]
    api.patch("configmaps", "c", {"metadata": {"finalizers": []}})
    assert api.get("configmaps", "c") is None


def test_delete_preconditions(api: NamespaceApi) -> None:
    api.create("configmaps", {"metadata": {"name": "c"}})
    response = requests.delete(api.url("configmaps", "c"), timeout=5, json={
        "preconditions": {"uid": str(uuid.uuid4())}})
    assert response.status_code == 409
    assert api.get("configmaps", "c") is not None


def test_background_cascade_through_three_levels(api: NamespaceApi) -> None:
    exp = api.create("widgets", widget("exp"))
    trial = api.create("widgets", widget("exp-0", exp))
    api.create("pods", pod("exp-0-pod", trial))
    api.delete("widgets", "exp", propagationPolicy="Background")
    assert [api.get("widgets", "exp"), api.get("widgets", "exp-0"),
            api.get("pods", "exp-0-pod")] == [None, None, None]


def test_foreground_waits_for_blocking_dependents(api: NamespaceApi) -> None:
    exp = api.create("widgets", widget("exp"))
    trial = api.create("widgets", widget("exp-0", exp, block=True))
    api.create("pods", pod("exp-0-pod", trial, node="node-1", block=True))
    api.delete("widgets", "exp", propagationPolicy="Foreground")
    owner = api.get("widgets", "exp")
    assert owner is not None and owner["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert owner["metadata"]["deletionTimestamp"]
    running = api.get("pods", "exp-0-pod")
    assert running is not None and running["metadata"]["deletionGracePeriodSeconds"] == 30
    assert api.get("widgets", "exp-0") is not None
    api.delete("pods", "exp-0-pod", gracePeriodSeconds=0)  # the kubelet confirms
    assert [api.get("widgets", "exp"), api.get("widgets", "exp-0"),
            api.get("pods", "exp-0-pod")] == [None, None, None]


def test_orphan_keeps_dependents(api: NamespaceApi) -> None:
    exp = api.create("widgets", widget("exp"))
    api.create("widgets", widget("exp-0", exp))
    api.delete("widgets", "exp", propagationPolicy="Orphan")
    orphan = api.get("widgets", "exp-0")
    assert api.get("widgets", "exp") is None
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")


def test_dependent_with_another_live_owner_survives(api: NamespaceApi) -> None:
    a = api.create("widgets", widget("a"))
    b = api.create("widgets", widget("b"))
    shared = widget("shared", a)
    shared["metadata"]["ownerReferences"] += owned_by(b)
    api.create("widgets", shared)
    api.delete("widgets", "a")
    left = api.get("widgets", "shared")
    assert left is not None
    assert [r["name"] for r in left["metadata"]["ownerReferences"]] == ["b"]


def test_pod_graceful_deletion(api: NamespaceApi) -> None:
    api.create("pods", pod("unbound"))
    api.delete("pods", "unbound")
    assert api.get("pods", "unbound") is None
    api.create("pods", pod("bound", node="node-1"))
    api.delete("pods", "bound", gracePeriodSeconds=5)
    terminating = api.get("pods", "bound")
    assert terminating is not None
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 5
    api.patch("pods", "bound", {"metadata": {"labels": {"still": "writable"}}})
    api.delete("pods", "bound", gracePeriodSeconds=0)
    assert api.get("pods", "bound") is None


def test_finished_bound_pod_goes_at_once(api: NamespaceApi) -> None:
    api.create("pods", pod("done", node="node-1"))
    requests.patch(api.url("pods", "done") + "/status", json={"status": {"phase": "Succeeded"}},
                   headers=MERGE, timeout=5)
    api.delete("pods", "done")
    assert api.get("pods", "done") is None


def test_namespace_deletion_empties_it(apiserver: ApiServer, api_client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(api_client)
    name = f"gone-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "c"}})
    core.create_namespaced_pod(name, pod("p", node="node-1"))
    core.delete_namespace(name)
    assert core.read_namespace(name).status.phase == "Terminating"
    assert core.list_namespaced_config_map(name).items == []
    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_config_map(name, {"metadata": {"name": "late"}})
    assert err.value.status == 403
    core.delete_namespaced_pod("p", name, grace_period_seconds=0)
    with pytest.raises(k8s.ApiException) as err:
        core.read_namespace(name)
    assert err.value.status == 404
