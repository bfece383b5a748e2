"""Verbs, metadata, optimistic concurrency, selectors and the status subresource."""

from __future__ import annotations

import json

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


def status_of(exc: k8s.ApiException) -> dict:
    return json.loads(exc.body)


def test_create_sets_metadata_and_rejects_duplicates(core: k8s.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "v"}})
    meta = cm.metadata
    assert meta.uid and meta.creation_timestamp and meta.generation == 1
    assert int(meta.resource_version) > 0
    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    body = status_of(err.value)
    assert err.value.status == 409
    assert (body["kind"], body["status"], body["reason"]) == ("Status", "Failure", "AlreadyExists")
    assert body["message"] == 'configmaps "a" already exists'


def test_resource_versions_increase_globally(core: k8s.CoreV1Api, ns: str) -> None:
    a = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    b = core.create_namespaced_secret(ns, {"metadata": {"name": "b"}})
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)


def test_generate_name(core: k8s.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}})
    assert cm.metadata.name.startswith("gen-") and len(cm.metadata.name) == 9


def test_get_missing_is_not_found(core: k8s.CoreV1Api, ns: str) -> None:
    with pytest.raises(k8s.ApiException) as err:
        core.read_namespaced_config_map("nope", ns)
    assert err.value.status == 404
    assert status_of(err.value)["reason"] == "NotFound"


def test_create_in_missing_namespace_is_not_found(core: k8s.CoreV1Api) -> None:
    with pytest.raises(k8s.ApiException) as err:
        core.create_namespaced_config_map("missing", {"metadata": {"name": "a"}})
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "missing" not found'


def test_stale_resource_version_conflicts(core: k8s.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    cm.data["k"] = "2"
    core.replace_namespaced_config_map("a", ns, cm)
    cm.data["k"] = "3"
    with pytest.raises(k8s.ApiException) as err:
        core.replace_namespaced_config_map("a", ns, cm)
    assert err.value.status == 409
    assert "the object has been modified" in status_of(err.value)["message"]
    with pytest.raises(k8s.ApiException) as err:
        core.patch_namespaced_config_map(
            "a", ns, {"metadata": {"resourceVersion": cm.metadata.resource_version}})
    assert err.value.status == 409


def test_noop_update_keeps_resource_version(core: k8s.CoreV1Api, ns: str) -> None:
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}, "data": {"k": "1"}})
    again = core.patch_namespaced_config_map("a", ns, {"data": {"k": "1"}})
    assert again.metadata.resource_version == cm.metadata.resource_version


def test_cluster_scoped_and_all_namespace_lists(core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", ns} <= names
    everywhere = core.list_config_map_for_all_namespaces()
    assert ("a", ns) in {(c.metadata.name, c.metadata.namespace) for c in everywhere.items}
    assert int(everywhere.metadata.resource_version) > 0


def test_pagination(core: k8s.CoreV1Api, ns: str) -> None:
    for i in range(5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"c{i}"}})
    first = core.list_namespaced_config_map(ns, limit=2)
    assert [c.metadata.name for c in first.items] == ["c0", "c1"]
    assert first.metadata.remaining_item_count == 3
    rest = core.list_namespaced_config_map(ns, limit=10, _continue=first.metadata._continue)
    assert [c.metadata.name for c in rest.items] == ["c2", "c3", "c4"]
    assert not rest.metadata._continue


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", {"a", "b"}),
    ("app==web,tier!=db", {"a"}),
    ("app in (web, api)", {"a", "b", "c"}),
    ("app notin (web)", {"c", "d"}),
    ("tier", {"b"}),
    ("!app", {"d"}),
])
def test_label_selectors(core: k8s.CoreV1Api, ns: str, selector: str, expected: set) -> None:
    labels = {"a": {"app": "web"}, "b": {"app": "web", "tier": "db"}, "c": {"app": "api"},
              "d": {}}
    for name, lb in labels.items():
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": lb}})
    found = core.list_namespaced_config_map(ns, label_selector=selector).items
    assert {c.metadata.name for c in found} == expected


def test_field_selectors(core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, {"metadata": {"name": "p1"}, "spec": {
        "nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}})
    core.create_namespaced_pod(ns, {"metadata": {"name": "p2"}, "spec": {
        "containers": [{"name": "c", "image": "x"}]}})
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=n1").items
    assert [p.metadata.name for p in on_node] == ["p1"]
    pending = core.list_namespaced_pod(ns, field_selector="status.phase=Pending,metadata.name!=p1")
    assert [p.metadata.name for p in pending.items] == ["p2"]
    with pytest.raises(k8s.ApiException) as err:
        core.list_namespaced_pod(ns, field_selector="spec.bogus=1")
    assert err.value.status == 400


def test_pod_defaults(core: k8s.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    assert pod.status.phase == "Pending"
    assert pod.spec.restart_policy == "Always"
    assert pod.spec.termination_grace_period_seconds == 30
    container = pod.spec.containers[0]
    assert container.termination_message_path == "/dev/termination-log"
    assert container.image_pull_policy == "IfNotPresent"


def test_status_subresource_splits_writes(core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x"}]}, "status": {"phase": "Running"}})
    pod = core.patch_namespaced_pod("p", ns, {"status": {"phase": "Running"},
                                             "metadata": {"labels": {"a": "b"}}})
    assert pod.status.phase == "Pending" and pod.metadata.labels == {"a": "b"}
    pod = core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running"},
                                                    "metadata": {"labels": {"x": "y"}}})
    assert pod.status.phase == "Running" and pod.metadata.labels == {"a": "b"}


def test_generation_follows_spec_only(apiserver: ApiServer, ns: str) -> None:
    url = f"{apiserver.url}/apis/apps/v1/namespaces/{ns}/deployments"
    spec = {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}
    requests.post(url, json={"metadata": {"name": "d"}, "spec": spec}, timeout=5)
    patch = {"headers": {"Content-Type": "application/merge-patch+json"}, "timeout": 5}
    labelled = requests.patch(f"{url}/d", json={"metadata": {"labels": {"x": "y"}}}, **patch)
    assert labelled.json()["metadata"]["generation"] == 1
    scaled = requests.patch(f"{url}/d", json={"spec": {"replicas": 2}}, **patch)
    assert scaled.json()["metadata"]["generation"] == 2
    status = requests.patch(f"{url}/d/status", json={"status": {"replicas": 2}}, **patch)
    assert status.json()["metadata"]["generation"] == 2
    assert status.json()["status"] == {"replicas": 2}


def test_events_in_both_groups(api_client: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_event(ns, {
        "metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "p"},
        "reason": "Started", "message": "hi", "type": "Normal"})
    assert [e.reason for e in core.list_namespaced_event(ns).items] == ["Started"]
    events = k8s.EventsV1Api(api_client)
    events.create_namespaced_event(ns, {
        "metadata": {"name": "e2"}, "eventTime": "2025-01-01T00:00:00.000000Z",
        "reportingController": "test", "reportingInstance": "t", "action": "Run",
        "reason": "Ran", "type": "Normal"})
    assert [e.reason for e in events.list_namespaced_event(ns).items] == ["Ran"]


def test_delete_collection_with_selector(core: k8s.CoreV1Api, ns: str) -> None:
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"app": app}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="app=x")
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == ["c"]


def test_discovery(apiserver: ApiServer) -> None:
    version = requests.get(f"{apiserver.url}/version", timeout=5).json()
    assert version["gitVersion"] == "v1.35.0"
    core = requests.get(f"{apiserver.url}/api/v1", timeout=5).json()
    names = {r["name"] for r in core["resources"]}
    assert {"pods", "pods/status", "pods/log", "pods/eviction", "namespaces", "secrets"} <= names
    groups = {g["name"] for g in requests.get(f"{apiserver.url}/apis", timeout=5).json()["groups"]}
    assert {"apps", "apiextensions.k8s.io", "coordination.k8s.io", "rbac.authorization.k8s.io",
            "events.k8s.io", "policy", "scheduling.k8s.io"} <= groups
    leases = requests.get(f"{apiserver.url}/apis/coordination.k8s.io/v1", timeout=5).json()
    assert [r["name"] for r in leases["resources"]] == ["leases"]


def test_pod_log_hook(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x"}]}})
    apiserver.hooks.pod_log = lambda namespace, name, container: f"{namespace}/{name}/{container}\n"
    try:
        assert core.read_namespaced_pod_log("p", ns, container="c") == f"{ns}/p/c\n"
    finally:
        apiserver.hooks.pod_log = None


def test_dry_run_create_is_not_stored(core: k8s.CoreV1Api, ns: str) -> None:
    shown = core.create_namespaced_config_map(ns, {"metadata": {"name": "dry"}}, dry_run="All")
    assert shown.metadata.uid
    assert core.list_namespaced_config_map(ns).items == []


def test_protobuf_eviction_body(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    """kubectl and other typed clients send an Eviction as a protobuf envelope."""
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "nodeName": "node-1", "containers": [{"name": "c", "image": "x"}]}})
    core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running"}})

    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    grace = bytes([1 << 3 | 0, 7])  # deleteOptions.gracePeriodSeconds = 7, a varint
    eviction = field(1, field(1, b"p") + field(3, ns.encode())) + field(2, grace)
    type_meta = field(1, b"policy/v1") + field(2, b"Eviction")
    body = b"k8s\x00" + field(1, type_meta) + field(2, eviction)
    response = requests.post(f"{apiserver.url}/api/v1/namespaces/{ns}/pods/p/eviction",
                             data=body, timeout=5,
                             headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert response.status_code == 201, response.text
    pod = core.read_namespaced_pod("p", ns)
    assert pod.metadata.deletion_grace_period_seconds == 7
    assert [c.reason for c in pod.status.conditions if c.type == "DisruptionTarget"] == [
        "EvictionByEvictionAPI"]
