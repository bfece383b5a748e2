"""Fault injection, restarts and persisted state."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


def test_injected_500_then_recovery(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    apiserver.faults.fail_next(2, 500, method="GET", path_regex=r"/configmaps$")
    for _ in range(2):
        with pytest.raises(k8s.ApiException) as err:
            core.list_namespaced_config_map(ns)
        assert err.value.status == 500
        assert json.loads(err.value.body)["reason"] == "InternalError"
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})  # POST: not matched
    assert len(core.list_namespaced_config_map(ns).items) == 1


def test_injected_429_carries_retry_after(apiserver: ApiServer, ns: str) -> None:
    apiserver.faults.fail_next(1, 429)
    response = requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", timeout=5)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert (body["kind"], body["reason"], body["details"]["retryAfterSeconds"]) == (
        "Status", "TooManyRequests", 1)
    assert requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", timeout=5).ok


def test_injected_409(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a"}})
    apiserver.faults.fail_next(1, 409, method="PATCH")
    with pytest.raises(k8s.ApiException) as err:
        core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}})
    assert err.value.status == 409
    assert core.patch_namespaced_config_map("a", ns, {"data": {"k": "v"}}).data == {"k": "v"}


def test_restart_keeps_state_and_drops_watches(tmp_path: Path) -> None:
    server = ApiServer()
    url = server.start()
    try:
        requests.post(f"{url}/api/v1/namespaces/default/configmaps",
                      json={"metadata": {"name": "kept"}}, timeout=5)
        ended = threading.Event()

        def follow() -> None:
            with requests.get(f"{url}/api/v1/namespaces/default/configmaps",
                              params={"watch": "true"}, stream=True, timeout=10) as resp:
                for _ in resp.iter_lines():
                    pass
            ended.set()

        threading.Thread(target=follow, daemon=True).start()
        time.sleep(0.2)
        assert server.restart() == url
        assert ended.wait(3)
        kept = requests.get(f"{url}/api/v1/namespaces/default/configmaps/kept", timeout=5)
        assert kept.status_code == 200
    finally:
        server.stop()


def test_state_file_survives_a_new_process(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = ApiServer(state_file=state)
    url = first.start()
    created = requests.post(f"{url}/api/v1/namespaces/default/configmaps",
                            json={"metadata": {"name": "kept"}}, timeout=5).json()
    first.stop()
    second = ApiServer(state_file=state)
    url = second.start()
    try:
        kept = requests.get(f"{url}/api/v1/namespaces/default/configmaps/kept", timeout=5).json()
        assert kept["metadata"]["uid"] == created["metadata"]["uid"]
        later = requests.post(f"{url}/api/v1/namespaces/default/configmaps",
                              json={"metadata": {"name": "new"}}, timeout=5).json()
        rv = int(later["metadata"]["resourceVersion"])
        assert rv > int(created["metadata"]["resourceVersion"])
    finally:
        second.stop()
