"""Fake nodes: what the scheduler sees, with no machine behind them but this one."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Any

from .client import Obj

GPU = "nvidia.com/gpu"
# What the node lifecycle controller puts on a node whose kubelet stopped reporting.
UNREACHABLE_TAINTS = [
    {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
]


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cpu: str = "4"
    memory: str = "16Gi"
    gpus: int = 0
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, Any]] = field(default_factory=list)

    def resources(self) -> dict[str, str]:
        res = {"cpu": self.cpu, "memory": self.memory, "pods": str(self.pods)}
        if self.gpus:
            res[GPU] = str(self.gpus)
        return res

    def all_labels(self) -> dict[str, str]:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kubesim",
        }
        if self.gpus:
            labels["nvidia.com/gpu.present"] = "true"
            labels["nvidia.com/gpu.count"] = str(self.gpus)
        return labels | self.labels


def default_nodes() -> list[NodeSpec]:
    """Two CPU nodes and one tainted GPU node, like a small training cluster."""
    return [
        NodeSpec("cpu-0", cpu="4", memory="16Gi"),
        NodeSpec("cpu-1", cpu="4", memory="16Gi"),
        NodeSpec(
            "gpu-0",
            cpu="8",
            memory="32Gi",
            gpus=2,
            taints=[{"key": GPU, "value": "present", "effect": "NoSchedule"}],
        ),
    ]


def node_object(spec: NodeSpec, ready: bool, now: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": spec.name, "labels": spec.all_labels()},
        "spec": {"taints": spec.taints + ([] if ready else UNREACHABLE_TAINTS)},
        "status": node_status(spec, ready, now),
    }


def node_status(spec: NodeSpec, ready: bool, now: str) -> Obj:
    ready_condition = (
        {"status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
        if ready
        else {
            "status": "Unknown",
            "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
        }
    )
    return {
        "capacity": spec.resources(),
        "allocatable": spec.resources(),
        "conditions": [
            {"type": "Ready", "lastHeartbeatTime": now, "lastTransitionTime": now}
            | ready_condition
        ],
        "addresses": [
            {"type": "InternalIP", "address": "127.0.0.1"},
            {"type": "Hostname", "address": spec.name},
        ],
        "nodeInfo": {
            "architecture": "amd64",
            "bootID": spec.name,
            "containerRuntimeVersion": "kubesim://process",
            "kernelVersion": platform.release(),
            "kubeProxyVersion": "",
            "kubeletVersion": "v1.35.0-kubesim",
            "machineID": spec.name,
            "operatingSystem": "linux",
            "osImage": "kubesim",
            "systemUUID": spec.name,
        },
    }
