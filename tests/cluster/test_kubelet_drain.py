"""Draining a node: real `kubectl drain` and `kubelet.drain` against the emulator.

Drain cordons the node, evicts its pods through the Eviction API and waits for them to go:
the API server marks each pod and deletes it gracefully, the kubelet SIGTERMs its processes,
writes the final status and removes the object. A PodDisruptionBudget that cannot spare a
pod keeps it (429), and drain retries until its timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch
from kubesim.cluster import Cluster
from kubesim.kubelet import NodeSpec
from kubesim.kubelet.client import ApiError
from kubesim.testing import Runner, _runner, tool
from kubesim.testing_kubelet import python_pod, wait_for, wait_for_phase

TERM_MARKER = """
    import os, pathlib, signal, sys, time
    def stop(*_):
        pathlib.Path(os.environ["MARKER"]).write_text("term")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(0.05)
"""


class Drain:
    def __init__(self, cluster: Cluster, kubectl: Runner, core: k8s.CoreV1Api) -> None:
        self.cluster, self.kubectl, self.core = cluster, kubectl, core

    @property
    def url(self) -> str:
        return self.cluster.url

    def owner(self, ns: str, kind: str, name: str) -> dict[str, Any]:
        plural = {"ReplicaSet": "replicasets", "DaemonSet": "daemonsets"}[kind]
        spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}}
        if kind == "ReplicaSet":
            spec["replicas"] = 1
        response = requests.post(f"{self.url}/apis/apps/v1/namespaces/{ns}/{plural}", timeout=5,
                                 json={"metadata": {"name": name}, "spec": spec})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def pod(self, ns: str, name: str, node: str, owner: dict[str, Any], script: str,
            env: dict[str, str] | None = None, **spec: Any) -> None:
        manifest = python_pod(name, script, env, nodeName=node, **spec)
        manifest["metadata"]["labels"] = {"app": owner["metadata"]["name"]}
        manifest["metadata"]["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        self.core.create_namespaced_pod(ns, manifest)

    def gone(self, ns: str, name: str) -> bool:
        try:
            self.core.read_namespaced_pod(name, ns)
        except k8s.ApiException as err:
            return err.status == 404
        return False


@pytest.fixture(scope="module")
def drain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drain]:
    """A cluster of its own: draining a node of the session cluster would disturb others."""
    nodes = [NodeSpec("drain-a", cpu="4", memory="8Gi"), NodeSpec("drain-b", cpu="4",
                                                                   memory="8Gi")]
    with Cluster(tmp_path_factory.mktemp("drain"), nodes=nodes, prometheus=False) as cluster:
        kubectl = _runner(tool("kubectl"), cluster.kubeconfig,
                          tmp_path_factory.mktemp("drain-home"))
        core = k8s.CoreV1Api(k8s_config.new_client_from_config(str(cluster.kubeconfig)))
        yield Drain(cluster, kubectl, core)


@pytest.fixture
def ns(drain: Drain) -> Iterator[str]:
    name = f"drain-{uuid.uuid4().hex[:6]}"
    drain.core.create_namespace({"metadata": {"name": name}})
    yield name
    for node in ("drain-a", "drain-b"):
        drain.kubectl("uncordon", node)
    drain.core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
    drain.core.delete_namespace(name)


SLEEP = "import time\ntime.sleep(60)"


def test_kubectl_drain_evicts_the_pods_and_waits_for_them(drain: Drain, ns: str,
                                                          tmp_path: Path) -> None:
    web = drain.owner(ns, "ReplicaSet", "web")
    daemon = drain.owner(ns, "DaemonSet", "agent")
    drain.pod(ns, "web-1", "drain-a", web, TERM_MARKER, {"MARKER": str(tmp_path / "web-1")},
              volumes=[{"name": "scratch", "emptyDir": {}}])
    drain.pod(ns, "web-2", "drain-a", web, TERM_MARKER, {"MARKER": str(tmp_path / "web-2")})
    drain.pod(ns, "agent-a", "drain-a", daemon, SLEEP)
    drain.pod(ns, "web-b", "drain-b", web, SLEEP)
    for name in ("web-1", "web-2", "agent-a", "web-b"):
        wait_for_phase(drain.core, ns, name, "Running")

    proc = drain.kubectl("drain", "drain-a", "--ignore-daemonsets", "--delete-emptydir-data",
                         "--timeout=60s", timeout=90)
    assert "node/drain-a cordoned" in proc.stdout
    assert f"Warning: ignoring DaemonSet-managed Pods: {ns}/agent-a" in proc.stderr
    for name in ("web-1", "web-2"):
        assert f"evicting pod {ns}/{name}" in proc.stdout
        assert f"pod/{name} evicted" in proc.stdout
        assert drain.gone(ns, name)
        assert (tmp_path / name).read_text() == "term"  # SIGTERM first, as the grace allows
    assert "node/drain-a drained" in proc.stdout
    assert drain.core.read_node("drain-a").spec.unschedulable is True
    assert drain.core.read_namespaced_pod("agent-a", ns).status.phase == "Running"
    assert drain.core.read_namespaced_pod("web-b", ns).status.phase == "Running"


def test_emptydir_pods_need_the_flag(drain: Drain, ns: str) -> None:
    web = drain.owner(ns, "ReplicaSet", "scratch")
    drain.pod(ns, "scratch-1", "drain-a", web, SLEEP, volumes=[{"name": "s", "emptyDir": {}}])
    wait_for_phase(drain.core, ns, "scratch-1", "Running")
    proc = drain.kubectl("drain", "drain-a", "--ignore-daemonsets", "--timeout=10s",
                         check=False)
    assert proc.returncode != 0
    assert "cannot delete Pods with local storage" in proc.stderr
    assert drain.core.read_namespaced_pod("scratch-1", ns).metadata.deletion_timestamp is None


def test_drain_waits_on_a_disruption_budget(drain: Drain, ns: str) -> None:
    guarded = drain.owner(ns, "ReplicaSet", "guarded")
    drain.pod(ns, "guarded-1", "drain-a", guarded, SLEEP)
    wait_for_phase(drain.core, ns, "guarded-1", "Running")
    wait_for(lambda: any(c.type == "Ready" and c.status == "True" for c in
                         drain.core.read_namespaced_pod("guarded-1", ns).status.conditions))
    policy = k8s.PolicyV1Api(drain.core.api_client)
    policy.create_namespaced_pod_disruption_budget(ns, {
        "metadata": {"name": "keep-one"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}}})

    proc = drain.kubectl("drain", "drain-a", "--ignore-daemonsets", "--delete-emptydir-data",
                         "--timeout=7s", check=False, timeout=60)
    assert proc.returncode != 0
    assert (f'error when evicting pods/"guarded-1" -n "{ns}" (will retry after 5s): Cannot '
            "evict pod as it would violate the pod's disruption budget.") in proc.stderr
    assert f'error when evicting pods/"guarded-1" -n "{ns}": global timeout reached: 7s' \
        in proc.stderr
    pod = drain.core.read_namespaced_pod("guarded-1", ns)
    assert pod.metadata.deletion_timestamp is None and pod.status.phase == "Running"

    assert drain.cluster.kubelet is not None
    with pytest.raises(ApiError) as caught:
        drain.cluster.kubelet.drain("drain-a", timeout=1.5, retry=0.5)
    assert caught.value.status == 429
    policy.delete_namespaced_pod_disruption_budget("keep-one", ns)
    assert drain.cluster.kubelet.drain("drain-a", timeout=30, grace=1) == [f"{ns}/guarded-1"]
    assert drain.gone(ns, "guarded-1")


def test_kubelet_drain_ends_pods_through_the_kubelet(drain: Drain, ns: str,
                                                      tmp_path: Path) -> None:
    """The final status the kubelet writes keeps the API server's DisruptionTarget."""
    web = drain.owner(ns, "ReplicaSet", "final")
    script = TERM_MARKER.replace("sys.exit(0)", "time.sleep(0.5); sys.exit(3)")
    drain.pod(ns, "final-1", "drain-b", web, script, {"MARKER": str(tmp_path / "m")},
              terminationGracePeriodSeconds=5)
    wait_for_phase(drain.core, ns, "final-1", "Running")
    since = drain.core.list_namespaced_pod(ns).metadata.resource_version
    assert drain.cluster.kubelet is not None
    assert drain.cluster.kubelet.drain("drain-b", timeout=30) == [f"{ns}/final-1"]
    events = [(e["type"], e["object"]) for e in watch.Watch().stream(
        drain.core.list_namespaced_pod, ns, resource_version=since, timeout_seconds=1)]
    kind, final = events[-1]
    assert kind == "DELETED"  # carrying the last state the kubelet wrote
    conditions = {c.type: c for c in final.status.conditions}
    assert conditions["DisruptionTarget"].reason == "EvictionByEvictionAPI"
    assert final.status.phase == "Failed"
    assert final.status.container_statuses[0].state.terminated.exit_code == 3
    assert (tmp_path / "m").read_text() == "term"
