"""Watches: replay from a resourceVersion, bookmarks, timeouts, 410 Gone, selectors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import watch
from kubesim.apiserver import ApiServer


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


def stream(url: str, **params: str) -> Iterator[dict]:
    with requests.get(url, params={"watch": "true", **params}, stream=True, timeout=10) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line:
                yield json.loads(line)


def test_watch_replays_from_resource_version(core: k8s.CoreV1Api, ns: str,
                                             apiserver: ApiServer) -> None:
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("a", ns)
    events = list(stream(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps",
                         resourceVersion=start, timeoutSeconds="1"))
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs)
    assert events[0]["object"]["kind"] == "ConfigMap"


def test_watch_without_version_lists_then_follows(core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "old"}})

    def later() -> None:
        time.sleep(0.3)
        core.create_namespaced_config_map(ns, {"metadata": {"name": "new"}})

    threading.Thread(target=later).start()
    seen = []
    for ev in watch.Watch().stream(core.list_namespaced_config_map, ns, timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", "old"), ("ADDED", "new")]


def test_timeout_seconds_ends_the_stream(apiserver: ApiServer, ns: str) -> None:
    began = time.monotonic()
    assert list(stream(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", timeoutSeconds="1")) == []
    assert 0.9 < time.monotonic() - began < 3


def test_bookmarks_carry_the_current_version(apiserver: ApiServer, ns: str) -> None:
    events = list(stream(f"{apiserver.url}/api/v1/namespaces/{ns}/pods",
                         allowWatchBookmarks="true", timeoutSeconds="2"))
    assert events and {e["type"] for e in events} == {"BOOKMARK"}
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) == apiserver.store.rv


def test_watch_list_ends_initial_events_with_a_bookmark(core: k8s.CoreV1Api, ns: str,
                                                        apiserver: ApiServer) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    events = stream(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps",
                    sendInitialEvents="true", allowWatchBookmarks="true",
                    resourceVersionMatch="NotOlderThan", timeoutSeconds="1")
    first, second = next(events), next(events)
    assert first["type"] == "ADDED"
    assert second["type"] == "BOOKMARK"
    assert second["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_cluster_wide_watch_and_selector_transitions(core: k8s.CoreV1Api, ns: str,
                                                     apiserver: ApiServer) -> None:
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"x": "1"}}})
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"x": "2"}}})
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"x": "1"}}})
    events = list(stream(f"{apiserver.url}/api/v1/configmaps", resourceVersion=start,
                         labelSelector="x=1", timeoutSeconds="1"))
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED"]


def test_compacted_history_answers_410(core: k8s.CoreV1Api, ns: str,
                                       apiserver: ApiServer) -> None:
    old = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    apiserver.faults.compact()
    events = list(stream(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps",
                         resourceVersion=old))
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_python_client_recovers_from_410(core: k8s.CoreV1Api, ns: str,
                                         apiserver: ApiServer) -> None:
    """The client's Watch raises on 410; relisting and watching again is the recovery."""
    old = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    apiserver.faults.compact()
    with pytest.raises(k8s.ApiException) as err:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, ns,
                                      resource_version=old, timeout_seconds=1):
            pass
    assert err.value.status == 410
    fresh = core.list_namespaced_config_map(ns)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "b"}})
    names = [ev["object"].metadata.name for ev in watch.Watch().stream(
        core.list_namespaced_config_map, ns, resource_version=fresh.metadata.resource_version,
        timeout_seconds=1)]
    assert names == ["b"]


def test_close_watches_ends_open_streams(apiserver: ApiServer, ns: str) -> None:
    ended = threading.Event()

    def follow() -> None:
        list(stream(f"{apiserver.url}/api/v1/namespaces/{ns}/pods"))
        ended.set()

    threading.Thread(target=follow, daemon=True).start()
    time.sleep(0.3)
    apiserver.faults.close_watches()
    assert ended.wait(3)


def test_watch_as_table(core: k8s.CoreV1Api, ns: str, apiserver: ApiServer) -> None:
    """`kubectl get -w` asks for Table rows in watch events too."""
    core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "c", "image": "x"}]}})
    with requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", stream=True, timeout=5,
                      params={"watch": "true", "timeoutSeconds": "1"},
                      headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}) as resp:
        first = json.loads(next(resp.iter_lines()))
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["rows"][0]["cells"][:3] == ["p", "0/1", "Pending"]
