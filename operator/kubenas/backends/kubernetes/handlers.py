"""Kopf registrations. Handlers only wake the experiment's reconcile; they decide nothing.

Only event (watching) handlers are used: kopf then adds no finalizers and writes no
annotations, so deleting an experiment never waits for the operator, and the cascade to
NASTrials and Pods is the garbage collector's (ownerReferences).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from kubenas.api.schema import GROUP, VERSION
from kubenas.backends.kubernetes.controller import Controller
from kubenas.backends.kubernetes.objects import EXPERIMENT_LABEL, EXPERIMENTS, MANAGED_BY, TRIALS


def register(registry: kopf.OperatorRegistry, controller: Controller) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

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

    @kopf.on.event("", "v1", "pods", labels=MANAGED_BY, registry=registry)
    async def pod_changed(labels: Mapping[str, str], namespace: str | None, **_: Any) -> None:
        if namespace and EXPERIMENT_LABEL in labels:
            controller.kick(namespace, labels[EXPERIMENT_LABEL])


def configure(settings: kopf.OperatorSettings) -> None:
    """No kopf-made events or finalizers; our own Events say what happened."""
    settings.posting.enabled = False
    settings.persistence.finalizer = "kubenas.io/operator"
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30
    settings.batching.exit_timeout = 0.5  # events left at shutdown are re-listed on start
