"""The scheduler's filters and messages, as pure functions over API objects."""

from __future__ import annotations

from typing import Any

from kubesim.kubelet.nodes import GPU, NodeSpec, default_nodes, node_object
from kubesim.kubelet.scheduler import pod_requests, schedule

NODES = [node_object(spec, True, "2026-01-01T00:00:00Z") for spec in default_nodes()]
GPU_TOLERATION = {"key": GPU, "operator": "Exists", "effect": "NoSchedule"}


def pod(name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
        node: str = "", phase: str = "Pending", **spec: Any) -> dict[str, Any]:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {
        "metadata": {"name": name, "namespace": "ns", "creationTimestamp": name},
        "spec": {"containers": [{"name": "main", "resources": resources}], "nodeName": node,
                 **spec},
        "status": {"phase": phase},
    }


def placements(*pods: dict[str, Any], nodes: list[dict[str, Any]] = NODES) -> dict[str, str]:
    return {d.pod["metadata"]["name"]: d.node or d.message for d in schedule(list(pods), nodes)}


def test_gpu_limits_count_as_requests_and_fill_the_node() -> None:
    assert pod_requests(pod("a", limits={GPU: "1"}))[GPU] == 1
    result = placements(
        pod("a", limits={GPU: "2"}, tolerations=[GPU_TOLERATION]),
        pod("b", limits={GPU: "1"}, tolerations=[GPU_TOLERATION]),
    )
    assert result == {
        "a": "gpu-0",
        "b": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    }


def test_untolerated_taint_is_reported_per_node() -> None:
    assert placements(pod("a", limits={GPU: "1"})) == {
        "a": "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{nvidia.com/gpu: present}, 2 Insufficient nvidia.com/gpu."
    }


def test_terminated_pods_free_their_resources() -> None:
    done = pod("done", limits={GPU: "2"}, node="gpu-0", phase="Succeeded")
    running = pod("running", requests={"cpu": "3"}, node="cpu-0", phase="Running")
    wanted = pod("wanted", limits={GPU: "2"}, tolerations=[GPU_TOLERATION])
    cpu = pod("cpu", requests={"cpu": "2"})
    assert placements(done, running, wanted, cpu) == {"wanted": "gpu-0", "cpu": "cpu-1"}


def test_node_selector_and_required_affinity() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["cpu-0"]},
            {"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"},
        ]}]}}}
    assert placements(
        pod("selected", nodeSelector={"kubernetes.io/hostname": "cpu-0"}),
        pod("affine", affinity=affinity),
        pod("nowhere", nodeSelector={"zone": "mars"}),
    ) == {
        "selected": "cpu-0",
        "affine": "cpu-1",
        "nowhere": "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{nvidia.com/gpu: present}, 2 node(s) didn't match Pod's node affinity/selector.",
    }


def test_memory_and_pod_count_limits() -> None:
    nodes = [node_object(NodeSpec("small", cpu="1", memory="1Gi", pods=1), True, "")]
    assert placements(pod("big", requests={"memory": "2Gi", "cpu": "2"}), nodes=nodes) == {
        "big": "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    }
    assert placements(pod("one"), pod("two"), nodes=nodes) == {
        "one": "small",
        "two": "0/1 nodes are available: 1 Too many pods.",
    }


def test_other_schedulers_and_bound_pods_are_left_alone() -> None:
    assert placements(pod("custom", schedulerName="volcano"), pod("bound", node="cpu-1")) == {}


def test_not_ready_node_is_avoided_through_its_taints() -> None:
    nodes = [node_object(NodeSpec("lost"), False, ""), node_object(NodeSpec("ok"), True, "")]
    assert placements(pod("a"), nodes=nodes) == {"a": "ok"}
