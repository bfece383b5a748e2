"""Learning curves of running trials, from Prometheus or (direct mode) the pods themselves.

A running trial's `status.curve` gets one objective value per finished epoch. This is for
watching and for strategies that read partial curves; a finished trial's numbers come from
its termination message, so a query that fails here loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kubenas.backends.kubernetes.objects import Obj
from kubenas.metrics.prometheus import Prometheus, QueryError, selector
from kubenas.metrics.scrape import ScrapeError, scrape

log = logging.getLogger(__name__)
CURVE_LIMIT = 50


@dataclass(frozen=True)
class Point:
    value: float
    epoch: float


class CurveSource(Protocol):
    def read(self, namespace: str, experiment: str, objective: str,
             pods: Sequence[Obj]) -> dict[str, Point]:
        """The latest objective value and epoch of each running pod, by pod name."""
        ...


class PrometheusCurves:
    """Two instant queries per experiment, whatever the number of running trials."""

    def __init__(self, prometheus: Prometheus, on_query: Callable[[bool], None]) -> None:
        self.prometheus = prometheus
        self.on_query = on_query  # called with True on success (operator metrics)

    def _by_pod(self, promql: str) -> dict[str, float]:
        try:
            series = self.prometheus.query(promql)
        except QueryError as exc:
            self.on_query(False)
            log.warning("%s", exc)
            return {}
        self.on_query(True)
        return {s.labels["pod"]: s.value for s in series if "pod" in s.labels}

    def read(self, namespace: str, experiment: str, objective: str,
             pods: Sequence[Obj]) -> dict[str, Point]:
        if not pods:
            return {}
        where = {"namespace": namespace, "kubenas_io_experiment": experiment}
        values = self._by_pod(selector("kubenas_trial_metric", **where, metric=objective))
        epochs = self._by_pod(selector("kubenas_trial_epoch", **where)) if values else {}
        return {p: Point(v, epochs[p]) for p, v in values.items() if p in epochs}


class DirectCurves:
    """Scrapes each running pod's metrics port, for clusters without Prometheus."""

    def __init__(self, timeout: float = 1.0) -> None:
        self.timeout = timeout

    def read(self, namespace: str, experiment: str, objective: str,
             pods: Sequence[Obj]) -> dict[str, Point]:
        out = {}
        for pod in pods:
            ip = (pod.get("status") or {}).get("podIP")
            port = (pod["metadata"].get("annotations") or {}).get("prometheus.io/port")
            if not ip or not port:
                continue
            try:
                sample = scrape(f"http://{ip}:{port}/metrics", timeout=self.timeout)
            except ScrapeError:
                continue  # not serving yet; the next pass tries again
            if objective in sample.metrics and sample.epoch is not None:
                out[pod["metadata"]["name"]] = Point(sample.metrics[objective], sample.epoch)
        return out


def extend(curve: Sequence[float], last_epoch: float, point: Point) -> list[float] | None:
    """The curve with the point added, or None when its epoch was already recorded.

    The running trial's `status.metrics.epoch` holds `last_epoch`, so the check stays right
    once the curve is cut to its last CURVE_LIMIT values.
    """
    if point.epoch <= last_epoch:
        return None
    return [*curve, point.value][-CURVE_LIMIT:]
