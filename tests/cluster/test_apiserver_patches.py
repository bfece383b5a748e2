"""Patch types: JSON merge, JSON patch, strategic merge and server-side apply."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import yaml
from kubesim.apiserver import ApiServer

MERGE = "application/merge-patch+json"
JSON = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
    {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
     "ports": [{"containerPort": 80}]},
    {"name": "b", "image": "y"},
]}}


def patch(url: str, body: Any, ctype: str, **params: str) -> requests.Response:
    data = body if isinstance(body, str) else None
    return requests.patch(url, data=data, json=None if data is not None else body,
                          headers={"Content-Type": ctype}, params=params, timeout=5)


@pytest.fixture
def pod_url(apiserver: ApiServer, ns: str) -> str:
    base = f"{apiserver.url}/api/v1/namespaces/{ns}/pods"
    assert requests.post(base, json=POD, timeout=5).status_code == 201
    return f"{base}/p"


@pytest.fixture
def cm_url(apiserver: ApiServer, ns: str) -> str:
    base = f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps"
    body = {"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}}
    assert requests.post(base, json=body, timeout=5).status_code == 201
    return f"{base}/c"


def test_merge_patch_sets_and_removes(cm_url: str) -> None:
    result = patch(cm_url, {"metadata": {"labels": {"a": None, "c": "3"}}, "data": {"y": "2"}},
                   MERGE).json()
    assert result["metadata"]["labels"] == {"b": "2", "c": "3"}
    assert result["data"] == {"x": "1", "y": "2"}


def test_json_patch_operations(cm_url: str) -> None:
    ops = [
        {"op": "add", "path": "/data/y", "value": "2"},
        {"op": "replace", "path": "/data/x", "value": "10"},
        {"op": "copy", "from": "/data/y", "path": "/data/z"},
        {"op": "move", "from": "/data/z", "path": "/data/w"},
        {"op": "remove", "path": "/metadata/labels/a"},
        {"op": "test", "path": "/data/w", "value": "2"},
    ]
    result = patch(cm_url, ops, JSON).json()
    assert result["data"] == {"x": "10", "y": "2", "w": "2"}
    assert result["metadata"]["labels"] == {"b": "2"}


def test_failed_json_patch_test_is_422(cm_url: str) -> None:
    response = patch(cm_url, [{"op": "test", "path": "/data/x", "value": "nope"},
                              {"op": "add", "path": "/data/y", "value": "2"}], JSON)
    assert response.status_code == 422
    assert response.json()["reason"] == "Invalid"
    assert "y" not in requests.get(cm_url, timeout=5).json()["data"]


def test_strategic_merge_keys_lists_by_name(pod_url: str) -> None:
    body = {"spec": {"containers": [{"name": "a", "image": "x2", "env": [
        {"name": "B", "value": "20"}, {"name": "A", "$patch": "delete"},
        {"name": "C", "value": "3"}]}]}}
    result = patch(pod_url, body, STRATEGIC).json()
    containers = {c["name"]: c for c in result["spec"]["containers"]}
    assert set(containers) == {"a", "b"}
    assert containers["a"]["image"] == "x2"
    assert containers["a"]["env"] == [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}]
    assert containers["a"]["ports"] == [{"containerPort": 80}]


def test_strategic_merge_finalizers_union(cm_url: str) -> None:
    patch(cm_url, {"metadata": {"finalizers": ["a/x"]}}, STRATEGIC)
    result = patch(cm_url, {"metadata": {"finalizers": ["b/y"]}}, STRATEGIC).json()
    assert result["metadata"]["finalizers"] == ["a/x", "b/y"]


def test_apply_creates_merges_and_records_manager(apiserver: ApiServer, ns: str) -> None:
    url = f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps/s"
    first = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"},
             "data": {"a": "1", "b": "2"}}
    created = patch(url, yaml.safe_dump(first), APPLY, fieldManager="tester")
    assert created.status_code == 201
    manager = created.json()["metadata"]["managedFields"][0]
    assert (manager["manager"], manager["operation"]) == ("tester", "Apply")
    assert manager["fieldsV1"] == {"f:data": {"f:a": {}, "f:b": {}}}
    patch(url, {"data": {"other": "x"}}, MERGE)
    second = {**first, "data": {"a": "10"}}
    result = patch(url, yaml.safe_dump(second), APPLY, fieldManager="tester", force="true")
    assert result.status_code == 200
    # b was applied before and is no longer: removed; "other" was never tester's: kept.
    assert result.json()["data"] == {"a": "10", "other": "x"}


def test_apply_merges_keyed_lists(pod_url: str) -> None:
    config = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "b", "image": "y2"}]}}
    result = patch(pod_url, yaml.safe_dump(config), APPLY, fieldManager="tester").json()
    images = {c["name"]: c["image"] for c in result["spec"]["containers"]}
    assert images == {"a": "x", "b": "y2"}


def test_apply_requires_field_manager(pod_url: str) -> None:
    config = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    assert patch(pod_url, yaml.safe_dump(config), APPLY).status_code == 400


def test_unknown_patch_type_is_415(cm_url: str) -> None:
    assert patch(cm_url, {}, "application/xml").status_code == 415


def test_apply_conflicts_between_managers(apiserver: ApiServer, ns: str) -> None:
    url = f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps/s"
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}}
    patch(url, yaml.safe_dump({**base, "data": {"a": "1"}}), APPLY, fieldManager="one")
    same = patch(url, yaml.safe_dump({**base, "data": {"a": "1", "b": "2"}}), APPLY,
                 fieldManager="two")
    assert same.status_code == 200  # agreeing on a value is no conflict: both own it
    clash = patch(url, yaml.safe_dump({**base, "data": {"a": "9"}}), APPLY, fieldManager="two")
    assert clash.status_code == 409
    body = clash.json()
    assert body["message"] == 'Apply failed with 1 conflict:\n- conflict with "one": .data.a'
    assert body["details"]["causes"][0]["field"] == ".data.a"
    forced = patch(url, yaml.safe_dump({**base, "data": {"a": "9"}}), APPLY, fieldManager="two",
                   force="true").json()
    assert forced["data"]["a"] == "9"
    owners = {m["manager"]: m["fieldsV1"] for m in forced["metadata"]["managedFields"]}
    assert owners == {"two": {"f:data": {"f:a": {}}}}  # "one" owns nothing any more
