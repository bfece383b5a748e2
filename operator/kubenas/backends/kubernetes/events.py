"""Kubernetes Events on the experiment, for `kubectl describe` and event exporters.

Events are best effort: losing one must never fail or repeat a reconcile, so errors are
logged and dropped. After an operator crash an event may be posted twice; state never is.
"""

from __future__ import annotations

import logging
import uuid

from kubenas.backends.kubernetes.kube import Api, event_path
from kubenas.backends.kubernetes.objects import Obj
from kubenas.backends.kubernetes.timefmt import rfc3339

log = logging.getLogger(__name__)
COMPONENT = "kubenas-operator"


class EventRecorder:
    def __init__(self, api: Api) -> None:
        self.api = api

    def post(self, owner: Obj, reason: str, message: str, *, now: float,
             warning: bool = False) -> None:
        meta = owner["metadata"]
        stamp = rfc3339(now)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                         "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                               "name": meta["name"], "namespace": meta["namespace"],
                               "uid": meta.get("uid", "")},
            "reason": reason, "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
        }
        try:
            self.api.create(event_path(meta["namespace"]), event)
        except Exception as exc:  # best effort, see the module docstring
            log.warning("could not post event %s on %s: %s", reason, meta["name"], exc)
