"""The Eviction API as kube-apiserver implements it: budgets first, then a graceful delete.

`pods/NAME/eviction` asks the PodDisruptionBudget that selects the pod; when the budget can
spare it the pod gets `DisruptionTarget=True` (reason `EvictionByEvictionAPI`) and is
deleted gracefully, so its kubelet stops it and removes it. A budget that cannot spare it
answers 429 TooManyRequests and the pod is left alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer
from kubesim.testing import MERGE, NamespaceApi

TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


class Cluster(NamespaceApi):
    """Raw access to one namespace of the API server (no kubelet runs these pods)."""

    def running_pod(self, name: str, labels: dict[str, str] | None = None, ready: bool = True,
                    owner: dict[str, Any] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "labels": labels or {}}
        if owner is not None:
            meta["ownerReferences"] = [{
                "apiVersion": owner["apiVersion"], "kind": owner["kind"],
                "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                "controller": True, "blockOwnerDeletion": True}]
        self.create("pods", {"metadata": meta, "spec": {
            "nodeName": "node-1", "containers": [{"name": "c", "image": "x"}]}})
        status = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}
        response = requests.patch(self.url("pods", name) + "/status", json={"status": status},
                                  headers=MERGE, timeout=5)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def evict(self, name: str, **delete_options: Any) -> requests.Response:
        body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction",
                                "metadata": {"name": name, "namespace": self.ns}}
        if delete_options:
            body["deleteOptions"] = delete_options
        return requests.post(self.url("pods", name) + "/eviction", json=body, timeout=5)

    def budget(self, name: str, selector: dict[str, str], **spec: Any) -> dict[str, Any]:
        return self.create("poddisruptionbudgets", {
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": selector}, **spec}})


@pytest.fixture
def cluster(apiserver: ApiServer, ns: str) -> Cluster:
    return Cluster(apiserver.url, ns)


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in pod["status"].get("conditions") or [] if c["type"] == kind), None)


def refused(response: requests.Response, needs: int, has: int, budget: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert (body["reason"], body["message"]) == ("TooManyRequests", TOO_MANY)
    assert body["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": f"The disruption budget {budget} needs {needs} healthy pods and has {has} "
                   "currently"}]
    assert "Retry-After" not in response.headers


def test_eviction_marks_the_pod_and_deletes_it_gracefully(
        apiserver: ApiServer, cluster: Cluster, api_client: k8s.ApiClient) -> None:
    cluster.running_pod("victim")
    seen: list[dict[str, Any]] = []
    apiserver.hooks.on_evict = seen.append
    try:
        core = k8s.CoreV1Api(api_client)
        core.create_namespaced_pod_eviction("victim", cluster.ns, k8s.V1Eviction(
            metadata=k8s.V1ObjectMeta(name="victim", namespace=cluster.ns)))
    finally:
        apiserver.hooks.on_evict = None
    pod = cluster.get("pods", "victim")
    assert pod is not None
    assert pod["metadata"]["deletionTimestamp"]
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert pod["status"]["phase"] == "Running"  # the kubelet ends it, not the API server
    target = condition(pod, "DisruptionTarget")
    assert target is not None and target["lastTransitionTime"]
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "EvictionByEvictionAPI", "Eviction API: evicting")
    assert [p["metadata"]["name"] for p in seen] == ["victim"]
    # The kubelet, once the containers are stopped, confirms with grace 0.
    requests.delete(cluster.url("pods", "victim"), json={"gracePeriodSeconds": 0}, timeout=5)
    assert cluster.get("pods", "victim") is None


def test_delete_options_of_the_eviction_are_honoured(apiserver: ApiServer,
                                                      cluster: Cluster) -> None:
    pod = cluster.running_pod("short")
    assert cluster.evict("short", gracePeriodSeconds=3).status_code == 201
    assert (cluster.get("pods", "short") or {})["metadata"]["deletionGracePeriodSeconds"] == 3
    cluster.running_pod("stale")
    response = cluster.evict("stale", preconditions={"uid": pod["metadata"]["uid"]})
    assert response.status_code == 409
    assert "the UID in the precondition" in response.json()["message"]
    assert not (cluster.get("pods", "stale") or {})["metadata"].get("deletionTimestamp")
    seen: list[dict[str, Any]] = []
    apiserver.hooks.on_evict = seen.append
    try:
        assert cluster.evict("stale", dryRun=["All"]).status_code == 201
    finally:
        apiserver.hooks.on_evict = None
    assert not (cluster.get("pods", "stale") or {})["metadata"].get("deletionTimestamp")
    assert seen == []
    mismatch = requests.post(cluster.url("pods", "stale") + "/eviction", timeout=5, json={
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "other"}})
    assert (mismatch.status_code, mismatch.json()["message"]) == (
        400, "name in URL does not match name in Eviction object")


def test_pending_and_finished_pods_go_without_asking_the_budget(cluster: Cluster) -> None:
    cluster.budget("all", {"app": "web"}, minAvailable=5)
    cluster.create("pods", {"metadata": {"name": "pending", "labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "c", "image": "x"}]}})
    assert cluster.evict("pending").status_code == 201
    assert cluster.get("pods", "pending") is None
    cluster.running_pod("done", {"app": "web"})
    requests.patch(cluster.url("pods", "done") + "/status", headers=MERGE, timeout=5,
                   json={"status": {"phase": "Succeeded"}})
    assert cluster.evict("done").status_code == 201
    assert cluster.get("pods", "done") is None


def test_min_available_budget_refuses_with_429(cluster: Cluster) -> None:
    for name in ("web-1", "web-2"):
        cluster.running_pod(name, {"app": "web"})
    cluster.budget("web", {"app": "web"}, minAvailable=2)
    budget = cluster.get("poddisruptionbudgets", "web") or {}
    status = budget["status"]
    assert {k: status[k] for k in ("currentHealthy", "desiredHealthy", "disruptionsAllowed",
                                   "expectedPods", "observedGeneration")} == {
        "currentHealthy": 2, "desiredHealthy": 2, "disruptionsAllowed": 0, "expectedPods": 2,
        "observedGeneration": 1}
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("DisruptionAllowed", "False", "InsufficientPods")]

    refused(cluster.evict("web-1"), 2, 2, "web")
    pod = cluster.get("pods", "web-1") or {}
    assert not pod["metadata"].get("deletionTimestamp") and condition(pod, "DisruptionTarget") \
        is None

    budget["spec"]["minAvailable"] = 1
    requests.put(cluster.url("poddisruptionbudgets", "web"), json=budget, timeout=5)
    status = (cluster.get("poddisruptionbudgets", "web") or {})["status"]
    assert (status["disruptionsAllowed"], status["observedGeneration"]) == (1, 2)
    assert status["conditions"][0]["reason"] == "SufficientPods"
    assert cluster.evict("web-1").status_code == 201
    # The evicted pod is terminating: it no longer counts as healthy.
    status = (cluster.get("poddisruptionbudgets", "web") or {})["status"]
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (1, 0)
    refused(cluster.evict("web-2"), 1, 1, "web")


def test_max_unavailable_counts_the_controllers_scale(cluster: Cluster) -> None:
    rs = cluster.create("replicasets", {
        "metadata": {"name": "api"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    for name, ready in (("api-1", True), ("api-2", True), ("api-3", False)):
        cluster.running_pod(name, {"app": "api"}, ready=ready, owner=rs)
    cluster.budget("api", {"app": "api"}, maxUnavailable=1)
    status = (cluster.get("poddisruptionbudgets", "api") or {})["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"]) == (3, 2, 2, 0)
    refused(cluster.evict("api-1"), 2, 2, "api")
    # An unready pod can go while the budget is met (unhealthyPodEvictionPolicy
    # IfHealthyBudget, the default).
    assert cluster.evict("api-3").status_code == 201


def test_unmanaged_pods_under_max_unavailable_cannot_be_evicted(cluster: Cluster) -> None:
    cluster.running_pod("bare", {"app": "bare"})
    cluster.budget("bare", {"app": "bare"}, maxUnavailable=1)
    status = (cluster.get("poddisruptionbudgets", "bare") or {})["status"]
    assert (status["expectedPods"], status["disruptionsAllowed"]) == (0, 0)
    refused(cluster.evict("bare"), 0, 1, "bare")


def test_unscalable_controller_fails_the_budget_sync(cluster: Cluster) -> None:
    owner = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "uid": "u-1"}}
    cluster.running_pod("job-pod", {"app": "job"}, owner=owner)
    cluster.budget("job", {"app": "job"}, maxUnavailable=1)
    status = (cluster.get("poddisruptionbudgets", "job") or {})["status"]
    assert status["disruptionsAllowed"] == 0
    assert [(c["status"], c["reason"], c["message"]) for c in status["conditions"]] == [
        ("False", "SyncFailed", "jobs.batch does not implement the scale subresource")]


def test_a_pod_under_two_budgets_is_an_internal_error(cluster: Cluster) -> None:
    cluster.running_pod("shared", {"app": "x", "tier": "y"})
    cluster.budget("one", {"app": "x"}, minAvailable=0)
    cluster.budget("two", {"tier": "y"}, minAvailable=0)
    response = cluster.evict("shared")
    body = response.json()
    assert (response.status_code, body["message"]) == (
        500, "This pod has more than one PodDisruptionBudget, which the eviction subresource "
             "does not support.")
    assert "reason" not in body


def test_always_allow_lets_unready_pods_go(cluster: Cluster) -> None:
    cluster.running_pod("sick", {"app": "db"}, ready=False)
    cluster.budget("db", {"app": "db"}, minAvailable=1, unhealthyPodEvictionPolicy="AlwaysAllow")
    assert cluster.evict("sick").status_code == 201


def test_kubectl_get_pdb_shows_the_budget(cluster: Cluster, kubectl: Any) -> None:
    cluster.running_pod("one", {"app": "one"})
    cluster.budget("one", {"app": "one"}, minAvailable=1)
    table = kubectl("get", "pdb", "-n", cluster.ns).stdout.split("\n")
    assert table[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                "DISRUPTIONS", "AGE"]
    assert table[1].split()[:4] == ["one", "1", "N/A", "0"]
    shown = json.loads(kubectl("get", "pdb", "one", "-n", cluster.ns, "-o", "json").stdout)
    assert shown["status"]["currentHealthy"] == 1
