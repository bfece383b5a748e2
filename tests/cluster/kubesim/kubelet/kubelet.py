"""The process kubelet: registers fake nodes, schedules pods and runs them as processes.

It talks to the API server only over HTTP, like a real kubelet, so it works against any
server. The loop is level-triggered: a pod watch only wakes it, and each pass lists pods
and nodes and reconciles them, so a dropped watch or a restarted server loses nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import requests

from .addresses import AddressPool
from .client import ApiClient, ApiError, Obj, pod_path
from .faults import Faults
from .nodes import NodeSpec, default_nodes, node_object, node_status
from .podspec import ImageCommands, launches
from .sandbox import Sandbox, Verdict, rfc3339
from .scheduler import TERMINAL_PHASES, schedule
from .targets import TargetsFile, scrape_target

log = logging.getLogger("kubesim.kubelet")

HOST_IP = "127.0.0.1"
TICK = 0.1  # seconds between process checks
RESYNC = 1.0  # seconds between full passes when no watch event arrives


class Kubelet(Faults):
    """Kubelet for every fake node plus the default scheduler, run in a background thread."""

    def __init__(
        self,
        api_url: str,
        workdir: Path,
        nodes: list[NodeSpec] | None = None,
        image_commands: ImageCommands | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env` is added to the environment every pod process inherits (e.g. KUBECONFIG)."""
        self.api = ApiClient(api_url)
        self.workdir = Path(workdir)
        self.nodes = {spec.name: spec for spec in (nodes or default_nodes())}
        self.image_commands = dict(image_commands or {})
        self.base_env = dict(os.environ) | dict(env or {})
        self.targets = TargetsFile(self.workdir / "targets.json")
        self._ready = dict.fromkeys(self.nodes, True)
        self._sandboxes: dict[str, Sandbox] = {}  # by pod uid
        self._orphans: list[Sandbox] = []  # pods deleted from the API, processes still stopping
        self._addresses = AddressPool()
        self._use_binding = True
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._loop_thread = threading.Thread(target=self._loop, name="kubesim-kubelet", daemon=True)

    @property
    def targets_path(self) -> Path:
        return self.targets.path

    def start(self) -> None:
        with self._lock:
            self._sync()
        self._loop_thread.start()
        threading.Thread(target=self._watch, name="kubesim-kubelet-watch", daemon=True).start()

    def stop(self) -> None:
        """Stops the loop and kills every pod process; pod objects are left as they are."""
        self._stopping.set()
        self._wake.set()
        # The watch thread is a daemon blocked on the server; it ends with its stream.
        self._loop_thread.join(timeout=10)
        with self._lock:
            for sandbox in [*self._sandboxes.values(), *self._orphans]:
                sandbox.kill()

    def pod_log(self, namespace: str, name: str, container: str | None = None) -> str:
        """What `pods/log` serves: the container's stdout and stderr (the first by default)."""
        with self._lock:
            sandbox = self._find(namespace, name)
            path = next(c.launch.log for c in sandbox.containers if container in (None, c.name))
        return path.read_text(errors="replace") if path.exists() else ""

    # -- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        next_sync = 0.0
        while not self._stopping.is_set():
            woke = self._wake.wait(TICK)
            self._wake.clear()
            try:
                with self._lock:
                    if woke or time.monotonic() >= next_sync:
                        next_sync = time.monotonic() + RESYNC
                        self._sync()
                    self._tend()
            except (requests.RequestException, ApiError) as err:
                # The server may be restarting (a fault under test); the next pass catches up.
                log.warning("kubelet pass failed: %s", err)
                time.sleep(TICK)
            except Exception:
                # A pod the kubelet cannot handle must not stop it from running the others.
                log.exception("kubelet pass failed")
                time.sleep(TICK)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                for _ in self.api.watch("/api/v1/pods", self._stopping):
                    self._wake.set()
            except (requests.RequestException, ApiError, ValueError):
                time.sleep(0.5)
            self._wake.set()

    def _sync(self) -> None:
        nodes = self._sync_nodes()
        pods = self.api.items("/api/v1/pods")
        for decision in schedule(pods, nodes):
            if decision.node is None:
                self._mark_unschedulable(decision.pod, decision.message)
            else:
                self._bind(decision.pod, decision.node)
        present = set()
        for pod in pods:
            meta, node = pod["metadata"], pod["spec"].get("nodeName")
            present.add(meta["uid"])
            sandbox = self._sandboxes.get(meta["uid"])
            if sandbox is not None:
                sandbox.pod = pod
                self._honour_api_verdict(sandbox)
            if meta.get("deletionTimestamp"):
                self._terminate(pod, sandbox)
            elif (
                sandbox is None
                and node in self.nodes
                and self._ready[node]
                and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES
            ):
                self._run_pod(pod)
        for uid in set(self._sandboxes) - present:
            sandbox = self._sandboxes.pop(uid)
            sandbox.stop(sandbox.grace())
            self._orphans.append(sandbox)

    def _sync_nodes(self) -> list[Obj]:
        nodes = self.api.items("/api/v1/nodes")
        names = {n["metadata"]["name"] for n in nodes}
        for name, spec in self.nodes.items():
            if name not in names:
                nodes.append(self.api.post("/api/v1/nodes", node_object(spec, True, rfc3339())))
                self._ready[name] = True
        return nodes

    def _tend(self) -> None:
        for sandbox in [*self._sandboxes.values(), *self._orphans]:
            sandbox.poll()
        # Targets first: whoever sees a pod finished must not find it still scraped.
        self.targets.write(
            [
                target
                for sandbox in self._sandboxes.values()
                if sandbox.running and not sandbox.deleting
                and (target := scrape_target(sandbox.pod, sandbox.ip))
            ]
        )
        for sandbox in list(self._sandboxes.values()):
            self._report(sandbox)
            if sandbox.deleting and not sandbox.running:
                self._finalize(sandbox.pod)
        for sandbox in [s for s in self._orphans if not s.running]:
            self._orphans.remove(sandbox)
            self._forget(sandbox)

    # -- scheduling -------------------------------------------------------------------------

    def _bind(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if self._use_binding:
            binding = {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": name, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            }
            try:
                self.api.post(pod_path(namespace, name, "binding"), binding)
                return
            except ApiError as err:
                if err.status not in (404, 405):
                    raise
                log.info("no pods/binding subresource; binding by patching spec.nodeName")
                self._use_binding = False
        self.api.patch(pod_path(namespace, name), {"spec": {"nodeName": node}})
        self._write_status(pod, {"conditions": [_scheduled(True)]})

    def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        conditions = (pod.get("status") or {}).get("conditions") or []
        current: Obj = next((c for c in conditions if c["type"] == "PodScheduled"), {})
        if current.get("status") == "False" and current.get("message") == message:
            return
        condition = _scheduled(False) | {"reason": "Unschedulable", "message": message}
        self._write_status(pod, {"phase": "Pending", "conditions": [condition]})

    # -- pods -------------------------------------------------------------------------------

    def _run_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ip = self._addresses.acquire()
        directory = self.workdir / "pods" / f"{meta['namespace']}_{meta['name']}_{meta['uid'][:8]}"
        sandbox = Sandbox(pod, ip, directory)
        self._sandboxes[meta["uid"]] = sandbox
        # The downward API may ask for the pod's own IP before the kubelet has reported it.
        pod_view = pod | {"status": (pod.get("status") or {}) | {
            "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}],
        }}
        directory.mkdir(parents=True, exist_ok=True)
        sandbox.start(
            launches(pod_view, directory, self.workdir, self.image_commands, self.base_env,
                     self._lookup)
        )
        log.info("started pod %s/%s on %s at %s", meta["namespace"], meta["name"],
                 pod["spec"]["nodeName"], ip)

    def _honour_api_verdict(self, sandbox: Sandbox) -> None:
        """A pod some client marked Failed through the API loses its processes."""
        status = sandbox.pod.get("status") or {}
        reported = (sandbox.reported or {}).get("phase")
        api_ended = status.get("phase") in TERMINAL_PHASES and reported not in TERMINAL_PHASES
        if api_ended and sandbox.running:
            sandbox.kill(Verdict(status.get("reason", "Killed"), status.get("message", "")))

    def _terminate(self, pod: Obj, sandbox: Sandbox | None) -> None:
        """Graceful deletion: SIGTERM, SIGKILL after the grace period, then remove the object."""
        node = pod["spec"].get("nodeName")
        if sandbox is None:
            if not node or node in self.nodes:
                self._finalize(pod)
            return
        if not sandbox.deleting:
            sandbox.deleting = True
            sandbox.stop(sandbox.grace())

    def _finalize(self, pod: Obj) -> None:
        meta = pod["metadata"]
        try:
            self.api.delete(
                pod_path(meta["namespace"], meta["name"]),
                {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}},
            )
        except ApiError as err:
            if err.status not in (404, 409):
                raise
        sandbox = self._sandboxes.pop(meta["uid"], None)
        if sandbox is not None:
            self._forget(sandbox)

    def _forget(self, sandbox: Sandbox) -> None:
        self._addresses.release(sandbox.ip)
        sandbox.remove()

    def _report(self, sandbox: Sandbox) -> None:
        status = sandbox.status(HOST_IP, sandbox.reported or sandbox.pod.get("status") or {})
        if status != sandbox.reported:
            self._write_status(sandbox.pod, status)
            sandbox.reported = status

    def _write_status(self, pod: Obj, status: Obj) -> None:
        meta = pod["metadata"]
        try:
            # Strategic merge, as the kubelet's status manager patches: conditions are merged
            # by type, so those others own (DisruptionTarget from the Eviction API) stay.
            self.api.patch(pod_path(meta["namespace"], meta["name"], "status"),
                           {"status": status}, "strategic")
        except ApiError as err:
            if err.status != 404:  # deleted meanwhile: the next pass notices
                raise

    def _lookup(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.api.get(f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def _find(self, namespace: str, name: str) -> Sandbox:
        for sandbox in self._sandboxes.values():
            if sandbox.key == (namespace, name):
                return sandbox
        raise KeyError(f"pod {namespace}/{name} is not running on this kubelet")

    def _set_node(self, name: str, ready: bool) -> None:
        """Writes the node as the node lifecycle controller would see it."""
        spec, now = self.nodes[name], rfc3339()
        self._ready[name] = ready
        self.api.patch(f"/api/v1/nodes/{name}", {"spec": node_object(spec, ready, now)["spec"]})
        self.api.patch(f"/api/v1/nodes/{name}/status", {"status": node_status(spec, ready, now)})


def _scheduled(ok: bool) -> Obj:
    return {"type": "PodScheduled", "status": "True" if ok else "False",
            "lastProbeTime": None, "lastTransitionTime": rfc3339()}
