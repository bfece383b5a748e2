"""Failures a real cluster has and tests need on demand: eviction, node loss, OOM kills.

Each fault acts at once and reports the pod's final status before returning, so a test can
read the outcome without racing the kubelet loop.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from .client import ApiClient, ApiError, Obj, pod_path
from .sandbox import Verdict

if TYPE_CHECKING:
    from .nodes import NodeSpec
    from .sandbox import Sandbox

EVICTED_MESSAGE = "The node was low on resource: memory. "


class Faults:
    """Mixed into the Kubelet; the attributes below are the kubelet's."""

    api: ApiClient
    nodes: dict[str, NodeSpec]
    _sandboxes: dict[str, Sandbox]
    _lock: threading.RLock

    if TYPE_CHECKING:

        def _find(self, namespace: str, name: str) -> Sandbox: ...
        def _report(self, sandbox: Sandbox) -> None: ...
        def _set_node(self, name: str, ready: bool) -> None: ...

    def evict(self, namespace: str, name: str) -> None:
        """Node-pressure eviction: the kubelet kills the pod, which stays `Failed`/`Evicted`.

        (An API-initiated eviction, `pods/eviction`, is the API server's: it deletes the pod
        gracefully, and the kubelet handles that like any deletion; see `drain`.)
        """
        with self._lock:
            sandbox = self._find(namespace, name)
            sandbox.kill(Verdict("Evicted", EVICTED_MESSAGE, "TerminationByKubelet"))
            self._report(sandbox)

    def oom_kill(self, namespace: str, name: str, container: str | None = None) -> None:
        """The kernel's OOM killer: SIGKILL, exit code 137, container reason `OOMKilled`."""
        with self._lock:
            sandbox = self._find(namespace, name)
            for proc in sandbox.containers:
                if container in (None, proc.name):
                    proc.kill(oom=True)
                    break
            self._report(sandbox)

    def set_node_ready(self, name: str, ready: bool) -> None:
        """Node loss or recovery, as the node lifecycle controller records it.

        Not ready: condition Ready=Unknown, the `node.kubernetes.io/unreachable` taints, and
        the node's pods killed and marked `Failed` with reason `NodeLost` right away (the real
        controller waits out the pods' `tolerationSeconds`, 300 by default, then deletes them).
        """
        with self._lock:
            self._set_node(name, ready)
            if ready:
                return
            for sandbox in list(self._sandboxes.values()):
                if sandbox.pod["spec"].get("nodeName") == name and sandbox.running:
                    pod = sandbox.pod["metadata"]["name"]
                    message = f"Node {name} which was running pod {pod} is unresponsive"
                    sandbox.kill(Verdict("NodeLost", message, "DeletionByTaintManager"))
                    self._report(sandbox)

    def drain(self, node: str, timeout: float = 60.0, grace: int | None = None,
              retry: float = 1.0) -> list[str]:
        """What `kubectl drain NODE --ignore-daemonsets --delete-emptydir-data --force` does.

        Cordons the node (`spec.unschedulable`), evicts every pod on it through the Eviction
        API except DaemonSet and mirror pods (retrying while a PodDisruptionBudget answers
        429, every `retry` seconds), and waits until the evicted pods are gone. `grace` is
        the evictions' `deleteOptions.gracePeriodSeconds`. Returns the evicted pods as
        `namespace/name`; raises TimeoutError naming those left after `timeout` seconds.
        Must not be called with the kubelet's lock held: the kubelet loop stops the pods.
        """
        deadline = time.monotonic() + timeout
        self.api.patch(f"/api/v1/nodes/{node}", {"spec": {"unschedulable": True}})
        pods = self.api.items("/api/v1/pods", fieldSelector=f"spec.nodeName={node}")
        targets = [p for p in pods if not _daemon_or_mirror(p)]
        pending = {(p["metadata"]["namespace"], p["metadata"]["name"]): p["metadata"]["uid"]
                   for p in targets}
        to_evict = list(pending)
        while to_evict:
            namespace, name = to_evict.pop(0)
            body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction",
                         "metadata": {"name": name, "namespace": namespace}}
            if grace is not None:
                body["deleteOptions"] = {"gracePeriodSeconds": grace}
            try:
                self.api.post(pod_path(namespace, name, "eviction"), body)
            except ApiError as err:
                if err.status == 404:
                    continue
                if err.status != 429 or time.monotonic() + retry > deadline:
                    raise
                to_evict.append((namespace, name))
                time.sleep(retry)
        while pending:
            for (namespace, name), uid in list(pending.items()):
                try:
                    current = self.api.get(pod_path(namespace, name))
                except ApiError as err:
                    if err.status != 404:
                        raise
                    current = None
                if current is None or current["metadata"]["uid"] != uid:
                    del pending[(namespace, name)]
            if pending and time.monotonic() > deadline:
                left = ", ".join(f"{ns}/{n}" for ns, n in pending)
                raise TimeoutError(f"drain of {node} did not complete within {timeout}s: {left}")
            if pending:
                time.sleep(0.1)
        return [f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in targets]


def _daemon_or_mirror(pod: Obj) -> bool:
    if "kubernetes.io/config.mirror" in (pod["metadata"].get("annotations") or {}):
        return True
    return any(ref.get("controller") and ref.get("kind") == "DaemonSet"
               for ref in pod["metadata"].get("ownerReferences") or [])
