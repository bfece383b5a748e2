"""Kopf registrations: indices of what reconciles read, and wake-ups. They decide nothing.

Only indexing and event (watching) handlers are used: kopf then adds no finalizers and writes
no annotations, so deleting an experiment never waits for the operator, and the cascade to
NASTrials and Pods is the garbage collector's (ownerReferences). The indices hold compact
copies (what a pass reads, without managed fields), and Kopf fills them completely before any
event handler runs, so the first pass after a start already sees every trial. The handlers
are coroutines: Kopf would run plain functions in a thread, one hop per watch event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from kubenas.api.schema import GROUP, VERSION
from kubenas.backends.kubernetes.controller import Controller, Key
from kubenas.backends.kubernetes.objects import (
    EXPERIMENT_LABEL,
    EXPERIMENTS,
    MANAGED_BY,
    TRIALS,
    Obj,
)
from kubenas.backends.kubernetes.sources import Snapshot, requests_gpus
from kubenas.backends.kubernetes.trial_lifecycle import COMPLETION_INDEX

META = ("name", "namespace", "uid", "resourceVersion", "generation", "labels",
        "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")


def _meta(body: Mapping[str, Any], annotations: tuple[str, ...] = ()) -> Obj:
    meta = body.get("metadata") or {}
    out = {k: meta[k] for k in META if k in meta}
    kept = {k: v for k, v in (meta.get("annotations") or {}).items() if k in annotations}
    if kept:
        out["annotations"] = kept
    return out


def trial_view(body: Mapping[str, Any]) -> Obj:
    return {"apiVersion": body.get("apiVersion"), "kind": body.get("kind"),
            "metadata": _meta(body), "spec": dict(body.get("spec") or {}),
            "status": dict(body.get("status") or {})}


def pod_view(body: Mapping[str, Any]) -> Obj:
    spec = body.get("spec") or {}
    return {"metadata": _meta(body, ("prometheus.io/port", COMPLETION_INDEX)),
            "spec": {"nodeName": spec.get("nodeName"),
                     "containers": [{"name": c.get("name"), "resources": c.get("resources")}
                                    for c in spec.get("containers") or []]},
            "status": dict(body.get("status") or {})}


def job_view(body: Mapping[str, Any]) -> Obj:
    return {"metadata": _meta(body), "status": dict(body.get("status") or {})}


def node_view(body: Mapping[str, Any]) -> Obj:
    return {"metadata": _meta(body), "spec": dict(body.get("spec") or {}),
            "status": {k: v for k, v in (body.get("status") or {}).items()
                       if k in ("allocatable", "conditions")}}


class Indices:
    """The Kopf indices, as handed over at startup; read only in the event loop."""

    def __init__(self) -> None:
        self.trials: Any = None
        self.pods: Any = None
        self.jobs: Any = None
        self.nodes: Any = None
        self.gpu_pods: Any = None

    def snapshot(self, key: Key) -> Snapshot:
        return Snapshot(list(self.trials.get(key, [])) if self.trials is not None else [],
                        list(self.pods.get(key, [])) if self.pods is not None else [],
                        list(self.jobs.get(key, [])) if self.jobs is not None else [],
                        _all(self.nodes) if self.nodes is not None else None,
                        _all(self.gpu_pods) if self.gpu_pods is not None else [])


def _all(index: Any) -> list[Obj]:
    return [value for key in index for value in index[key] if value is not None]


def register(registry: kopf.OperatorRegistry, controller: Controller, indices: Indices, *,
             node_access: bool) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.index(GROUP, VERSION, TRIALS, labels=MANAGED_BY, id="kubenas_trials",
                registry=registry)
    async def kubenas_trials(namespace: str | None, labels: Mapping[str, str], body: kopf.Body,
                       **_: Any) -> dict[Key, Obj] | None:
        if EXPERIMENT_LABEL not in labels or namespace is None:
            return None
        return {(namespace, labels[EXPERIMENT_LABEL]): trial_view(body)}

    @kopf.index("", "v1", "pods", labels=MANAGED_BY, id="kubenas_pods", registry=registry)
    async def kubenas_pods(namespace: str | None, labels: Mapping[str, str], body: kopf.Body,
                     **_: Any) -> dict[Key, Obj] | None:
        if EXPERIMENT_LABEL not in labels or namespace is None:
            return None
        return {(namespace, labels[EXPERIMENT_LABEL]): pod_view(body)}

    @kopf.index("batch", "v1", "jobs", labels=MANAGED_BY, id="kubenas_jobs", registry=registry)
    async def kubenas_jobs(namespace: str | None, labels: Mapping[str, str], body: kopf.Body,
                     **_: Any) -> dict[Key, Obj] | None:
        if EXPERIMENT_LABEL not in labels or namespace is None:
            return None
        return {(namespace, labels[EXPERIMENT_LABEL]): job_view(body)}

    if node_access:
        @kopf.index("", "v1", "nodes", id="kubenas_nodes", registry=registry)
        async def kubenas_nodes(name: str, body: kopf.Body, **_: Any) -> dict[str, Obj]:
            return {name: node_view(body)}  # a dict result is {key: value}, so key it

        @kopf.index("", "v1", "pods", id="kubenas_gpu_pods", registry=registry)
        async def kubenas_gpu_pods(namespace: str | None, name: str, body: kopf.Body,
                             **_: Any) -> dict[tuple[str | None, str], Obj | None]:
            # Returning None would keep a pod's last value (Kopf ignores None results), so a
            # pod that finished or never asked for GPUs is indexed as None instead.
            view = pod_view(body)
            return {(namespace, name): view if requests_gpus(view) else None}

    @kopf.on.startup(registry=registry)
    async def keep_indices(**kwargs: Any) -> None:
        indices.trials, indices.pods = kwargs["kubenas_trials"], kwargs["kubenas_pods"]
        indices.jobs = kwargs["kubenas_jobs"]
        indices.nodes = kwargs.get("kubenas_nodes")
        indices.gpu_pods = kwargs.get("kubenas_gpu_pods")

    @kopf.on.cleanup(registry=registry)
    async def stop_workers(**_: Any) -> None:
        await controller.stop()

    @kopf.on.event(GROUP, VERSION, EXPERIMENTS, registry=registry)
    async def experiment_changed(name: str, namespace: str | None, **_: Any) -> None:
        if namespace:
            controller.kick(namespace, name)

    @kopf.on.event(GROUP, VERSION, TRIALS, labels=MANAGED_BY, registry=registry)
    async def trial_changed(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
        if namespace and EXPERIMENT_LABEL in labels:
            controller.kick(namespace, labels[EXPERIMENT_LABEL])

    @kopf.on.event("batch", "v1", "jobs", labels=MANAGED_BY, registry=registry)
    async def job_changed(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
        if namespace and EXPERIMENT_LABEL in labels:
            controller.kick(namespace, labels[EXPERIMENT_LABEL])

    @kopf.on.event("", "v1", "pods", labels=MANAGED_BY, registry=registry)
    async def pod_changed(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
        if namespace and EXPERIMENT_LABEL in labels:
            controller.kick(namespace, labels[EXPERIMENT_LABEL])


def configure(settings: kopf.OperatorSettings, *, cluster_wide: bool) -> None:
    """No kopf-made events, finalizers or peering; our own Events say what happened."""
    settings.posting.enabled = False
    settings.persistence.finalizer = "kubenas.io/operator"
    settings.peering.standalone = True  # leader election is ours (a Lease), see leader.py
    settings.scanning.disabled = not cluster_wide  # CRD/namespace scans need a ClusterRole
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30
    settings.batching.exit_timeout = 0.5  # events left at shutdown are re-listed on start
