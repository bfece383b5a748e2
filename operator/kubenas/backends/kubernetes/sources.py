"""What a reconcile pass reads besides the experiment: its trials, its pods, the GPUs in use.

In the operator, a `Snapshot` answers from in-memory indices that Kopf keeps current from the
watch streams it already holds, so a pass costs no LIST however many trials exist (and Kopf
fills the indices completely before any handler runs). `Listed` asks the API server each
time; it serves tests and tools. Either may lag behind the operator's own writes: every
write carries the resourceVersion it was based on, so acting on a stale view ends in a 409
and a retry, never in a lost update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kubenas.backends.kubernetes.capacity import TERMINAL, pod_gpus
from kubenas.backends.kubernetes.kube import NODES, Api, job_path, pod_path, trial_path
from kubenas.backends.kubernetes.objects import Obj, selector


class Source(Protocol):
    def trials(self, namespace: str, experiment: str) -> list[Obj]: ...
    def pods(self, namespace: str, experiment: str) -> list[Obj]: ...
    def jobs(self, namespace: str, experiment: str) -> list[Obj]: ...
    def nodes(self) -> list[Obj] | None:
        """Every node, or None without permission to read them."""
        ...

    def gpu_pods(self) -> list[Obj]:
        """Unfinished pods, of any workload, that ask for GPUs."""
        ...


class Listed:
    """Lists from the API server on every call."""

    def __init__(self, api: Api, node_access: bool = True) -> None:
        self.api = api
        self.node_access = node_access

    def trials(self, namespace: str, experiment: str) -> list[Obj]:
        return self.api.list(trial_path(namespace), selector(experiment))

    def pods(self, namespace: str, experiment: str) -> list[Obj]:
        return self.api.list(pod_path(namespace), selector(experiment))

    def jobs(self, namespace: str, experiment: str) -> list[Obj]:
        return self.api.list(job_path(namespace), selector(experiment))

    def nodes(self) -> list[Obj] | None:
        return self.api.list(NODES) if self.node_access else None

    def gpu_pods(self) -> list[Obj]:
        return [p for p in self.api.list(pod_path()) if requests_gpus(p)]


@dataclass(frozen=True)
class Snapshot:
    """One experiment's share of the watched indices, copied in the event loop for a pass
    that runs in a worker thread."""

    trial_objs: list[Obj]
    pod_objs: list[Obj]
    job_objs: list[Obj]
    node_objs: list[Obj] | None
    gpu_pod_objs: list[Obj]

    def trials(self, namespace: str, experiment: str) -> list[Obj]:
        return self.trial_objs

    def pods(self, namespace: str, experiment: str) -> list[Obj]:
        return self.pod_objs

    def jobs(self, namespace: str, experiment: str) -> list[Obj]:
        return self.job_objs

    def nodes(self) -> list[Obj] | None:
        return self.node_objs

    def gpu_pods(self) -> list[Obj]:
        return self.gpu_pod_objs


def requests_gpus(pod: Obj) -> bool:
    return pod_gpus(pod) > 0 and (pod.get("status") or {}).get("phase") not in TERMINAL
