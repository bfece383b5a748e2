"""Prometheus metrics of a running trial (the contract's "metrics while training").

A dedicated registry keeps the endpoint to exactly the contract's series (no process
or platform collectors), so scrapes stay small and tests see a stable exposition.
"""

from __future__ import annotations

from collections.abc import Mapping
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class TrialMetrics:
    """The contract's four series, optionally served over HTTP."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.metric = Gauge("kubenas_trial_metric", "Latest value of each reported metric.",
                            ["metric"], registry=self.registry)
        self.epoch = Gauge("kubenas_trial_epoch", "Last finished epoch, in budget units.",
                           registry=self.registry)
        self.samples_per_second = Gauge("kubenas_trial_samples_per_second",
                                        "Training throughput over the last epoch.",
                                        registry=self.registry)
        self.samples = Counter("kubenas_trial_samples", "Samples trained on so far.",
                               registry=self.registry)
        self._server: WSGIServer | None = None

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics on host:port in a daemon thread; port 0 means no server."""
        if not port:
            return
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ValueError(f"KUBENAS_METRICS_PORT: cannot serve metrics on {host}:{port}: "
                             f"{exc.strerror or exc}") from exc

    def stop(self) -> None:
        """Stop serving, so the process exits as soon as the trial is done."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def report(self, values: Mapping[str, float]) -> None:
        """Set kubenas_trial_metric for each named value."""
        for name, value in values.items():
            self.metric.labels(metric=name).set(value)

    def epoch_done(self, progress: float, samples: int, samples_per_second: float) -> None:
        """Record a finished epoch (progress in budget units)."""
        self.epoch.set(progress)
        self.samples.inc(samples)
        self.samples_per_second.set(samples_per_second)
