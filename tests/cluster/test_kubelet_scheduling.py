"""The scheduler against the API: GPUs bin-packed, waiting pods placed when capacity frees."""

from __future__ import annotations

from kubernetes import client as k8s
from kubesim.testing_kubelet import python_pod, scheduling_message, wait_for, wait_for_phase

SLEEP = "import time\ntime.sleep(60)"
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def gpu_pod(name: str, gpus: int) -> dict:
    manifest = python_pod(name, SLEEP, tolerations=[GPU_TOLERATION])
    manifest["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    return manifest


def test_gpu_pods_wait_for_free_gpus(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, gpu_pod("two-gpus", 2))
    assert wait_for_phase(core, namespace, "two-gpus", "Running").spec.node_name == "gpu-0"

    core.create_namespaced_pod(namespace, gpu_pod("one-gpu", 1))
    message = wait_for(lambda: scheduling_message(core, namespace, "one-gpu"))
    assert message == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    pod = core.read_namespaced_pod("one-gpu", namespace)
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    condition = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (condition.status, condition.reason) == ("False", "Unschedulable")

    core.delete_namespaced_pod("two-gpus", namespace, grace_period_seconds=0)
    assert wait_for_phase(core, namespace, "one-gpu", "Running").spec.node_name == "gpu-0"


def test_gpu_taint_keeps_untolerating_pods_off(core: k8s.CoreV1Api, namespace: str) -> None:
    manifest = python_pod("no-toleration", SLEEP)
    manifest["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "1"}}
    core.create_namespaced_pod(namespace, manifest)
    assert wait_for(lambda: scheduling_message(core, namespace, "no-toleration")) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}, "
        "2 Insufficient nvidia.com/gpu."
    )


def test_node_selector_and_scheduler_name(core: k8s.CoreV1Api, namespace: str) -> None:
    selected = python_pod("selected", SLEEP, nodeSelector={"kubernetes.io/hostname": "cpu-1"})
    core.create_namespaced_pod(namespace, selected)
    core.create_namespaced_pod(namespace, python_pod("other", SLEEP, schedulerName="volcano"))
    assert wait_for_phase(core, namespace, "selected", "Running").spec.node_name == "cpu-1"
    other = core.read_namespaced_pod("other", namespace)
    assert other.spec.node_name is None and not other.status.conditions
