"""A small Kopf operator for Widgets that the emulator tests run with `kopf run`.

Each handler leaves evidence a test can read back through the API.
"""

from __future__ import annotations

from typing import Any

import kopf
import kubernetes

WIDGETS = ("test.kubesim.io", "v1", "widgets")


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.reconnect_backoff = 0.2
    kubernetes.config.load_kube_config()


@kopf.on.create(*WIDGETS)
def created(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = "Created"
    kopf.info(body, reason="Created", message="The widget is created.")


@kopf.on.update(*WIDGETS, field="spec.size")
def resized(new: int, patch: kopf.Patch, **_: Any) -> None:
    patch.status["phase"] = f"Resized to {new}"


@kopf.on.resume(*WIDGETS)
def resumed(patch: kopf.Patch, **_: Any) -> None:
    patch.metadata.annotations["test.kubesim.io/resumed"] = "true"


@kopf.timer(*WIDGETS, interval=0.5)
def ready(status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
    if not status.get("conditions"):
        patch.status["conditions"] = [{"type": "Ready", "status": "True", "reason": "Timer"}]


@kopf.on.delete(*WIDGETS)
def deleted(name: str, namespace: str, **_: Any) -> None:
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, {
        "metadata": {"name": f"deleted-{name}"}, "data": {"by": "kopf"}})
