"""Failures a real cluster has and tests need on demand: eviction, node loss, OOM kills.

Each fault acts at once and reports the pod's final status before returning, so a test can
read the outcome without racing the kubelet loop.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from .sandbox import Verdict

if TYPE_CHECKING:
    from .nodes import NodeSpec
    from .sandbox import Sandbox

EVICTED_MESSAGE = "The node was low on resource: memory. "


class Faults:
    """Mixed into the Kubelet; the attributes below are the kubelet's."""

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
        gracefully, and the kubelet handles that like any deletion.)
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
