"""GPU capacity from nodes, taints and the other pods on them."""

from __future__ import annotations

from kubenas.backends.kubernetes.capacity import gpu_capacity, tolerates

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
TEMPLATE = {"resources": {"limits": {"nvidia.com/gpu": 1}},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists",
                             "effect": "NoSchedule"}]}


def _node(name: str, gpus: int, taints: list | None = None, ready: str = "True",
          labels: dict | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []},
            "status": {"allocatable": {"nvidia.com/gpu": str(gpus)},
                       "conditions": [{"type": "Ready", "status": ready}]}}


def _pod(name: str, node: str, gpus: int, phase: str = "Running", ns: str = "x") -> dict:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": node, "containers": [
                {"resources": {"requests": {"nvidia.com/gpu": str(gpus)}}}]},
            "status": {"phase": phase}}


def test_counts_gpus_on_matching_ready_nodes() -> None:
    nodes = [_node("gpu-0", 2, [GPU_TAINT]), _node("gpu-1", 4, ready="Unknown"),
             _node("cpu-0", 0)]
    assert gpu_capacity(TEMPLATE, nodes, [], set()) == 2
    assert gpu_capacity({**TEMPLATE, "tolerations": []}, nodes, [], set()) == 0
    assert gpu_capacity({**TEMPLATE, "nodeSelector": {"pool": "a"}}, nodes, [], set()) == 0
    assert gpu_capacity({}, nodes, [], set()) is None


def test_subtracts_gpus_held_by_others_but_not_own_trials() -> None:
    nodes = [_node("gpu-0", 4, [GPU_TAINT])]
    pods = [_pod("other", "gpu-0", 1), _pod("done", "gpu-0", 1, phase="Succeeded"),
            _pod("mine", "gpu-0", 1, ns="ns")]
    assert gpu_capacity(TEMPLATE, nodes, pods, {("ns", "mine")}) == 3
    two_each = {**TEMPLATE, "resources": {"limits": {"nvidia.com/gpu": 2}}}
    assert gpu_capacity(two_each, nodes, pods, set()) == 1


def test_toleration_matching() -> None:
    assert tolerates([{"operator": "Exists"}], GPU_TAINT)
    assert tolerates([{"key": "nvidia.com/gpu", "value": "present"}], GPU_TAINT)
    assert not tolerates([{"key": "nvidia.com/gpu", "value": "absent"}], GPU_TAINT)
    assert not tolerates([{"key": "nvidia.com/gpu", "operator": "Exists",
                           "effect": "NoExecute"}], GPU_TAINT)
