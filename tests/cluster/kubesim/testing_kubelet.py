"""Pytest fixtures for tests that run pods: a session cluster and a namespace per test.

`tests/conftest.py` registers this module as a plugin for every test folder.
"""

from __future__ import annotations

import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from .cluster import Cluster

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "condition") -> T:
    """Polls `check` until it returns something truthy; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """API server, kubelet (nodes cpu-0, cpu-1, gpu-0 with 2 tainted GPUs) and Prometheus."""
    with Cluster(tmp_path_factory.mktemp("kubesim")) as running:
        yield running


@pytest.fixture(scope="session")
def core(cluster: Cluster) -> k8s.CoreV1Api:
    """The official client, configured from the cluster's kubeconfig like any user's."""
    return k8s.CoreV1Api(k8s_config.new_client_from_config(str(cluster.kubeconfig)))


@pytest.fixture
def namespace(core: k8s.CoreV1Api) -> Iterator[str]:
    """A fresh namespace, deleted with its pods afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    yield name
    core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
    core.delete_namespace(name)


def python_pod(name: str, script: str, env: dict[str, str] | None = None, **spec: Any) -> dict:
    """A pod whose one container runs `script` with this interpreter; `spec` adds fields."""
    container = {
        "name": "main",
        "image": "python",
        "command": [sys.executable, "-c", textwrap.dedent(script)],
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "containers": [container]} | spec,
    }


def wait_for_phase(core: k8s.CoreV1Api, namespace: str, name: str, *phases: str,
                   timeout: float = 15.0) -> k8s.V1Pod:
    def reached() -> k8s.V1Pod | None:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status and pod.status.phase in phases else None

    return wait_for(reached, timeout, f"pod {name} to be {'/'.join(phases)}")


def scheduling_message(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    """The message of the pod's PodScheduled condition ("" while it has none)."""
    pod = core.read_namespaced_pod(name, namespace)
    conditions = (pod.status and pod.status.conditions) or []
    return next((c.message or "" for c in conditions if c.type == "PodScheduled"), "")
