"""Prometheus file service discovery for annotated pods (`prometheus.io/scrape: "true"`).

Stands in for `kubernetes_sd_configs` with the usual annotation relabelling: the target is
`podIP:port` (port from `prometheus.io/port`, else the container port named `metrics`), with
`namespace`, `pod` and every pod label (sanitised to a Prometheus label name) attached.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .client import Obj


def label_name(key: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", key)
    return "_" + name if name[:1].isdigit() else name


def metrics_port(pod: Obj) -> int | None:
    annotations = pod["metadata"].get("annotations") or {}
    if annotations.get("prometheus.io/port", "").isdigit():
        return int(annotations["prometheus.io/port"])
    for container in pod["spec"].get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "metrics":
                return int(port["containerPort"])
    return None


def scrape_target(pod: Obj, ip: str) -> Obj | None:
    meta = pod["metadata"]
    if (meta.get("annotations") or {}).get("prometheus.io/scrape") != "true":
        return None
    port = metrics_port(pod)
    if port is None:
        return None
    labels = {label_name(k): v for k, v in (meta.get("labels") or {}).items()}
    labels |= {"namespace": meta.get("namespace", "default"), "pod": meta["name"]}
    path = (meta.get("annotations") or {}).get("prometheus.io/path")
    if path:
        labels["__metrics_path__"] = path
    return {"targets": [f"{ip}:{port}"], "labels": labels}


class TargetsFile:
    """Rewrites the file atomically, and only when the target list changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: str | None = None
        self.write([])

    def write(self, targets: list[Obj]) -> None:
        text = json.dumps(sorted(targets, key=lambda t: t["targets"][0]), indent=1)
        if text == self._last:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)
        self._last = text
