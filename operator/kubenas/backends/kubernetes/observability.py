"""The operator's own metrics (/metrics) and liveness (/healthz).

Counters live in a private registry so that tests can run several operators in one
process. Gauges per phase are derived on scrape from the last reconcile of each experiment.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kubenas.api.status_schema import EXPERIMENT_PHASES, TRIAL_PHASES

Key = tuple[str, str]


class _PhaseGauges(Collector):
    def __init__(self, metrics: OperatorMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        experiments = GaugeMetricFamily("kubenas_experiments", "NASExperiments by phase.",
                                        labels=["phase"])
        by_phase = Tally(self.metrics.phases.values())
        for phase in EXPERIMENT_PHASES:
            experiments.add_metric([phase], by_phase[phase])
        yield experiments
        trials = GaugeMetricFamily("kubenas_trials", "NASTrials by phase.", labels=["phase"])
        for phase in TRIAL_PHASES:
            trials.add_metric([phase], sum(c.get(phase.lower(), 0)
                                           for c in self.metrics.trial_counts.values()))
        yield trials


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.phases: dict[Key, str] = {}
        self.trial_counts: dict[Key, dict[str, int]] = {}
        self.busy_since: dict[Key, float] = {}  # reconciles in progress (monotonic start)
        self.trial_starts = Counter("kubenas_trial_starts_total", "Trial pods created.",
                                    registry=self.registry)
        self.trial_failures = Counter("kubenas_trial_failures_total",
                                      "Trials that failed (trainer errors), by reason.",
                                      ["reason"], registry=self.registry)
        self.trial_retries = Counter("kubenas_trial_retries_total",
                                     "Trial attempts lost to the infrastructure and retried.",
                                     ["reason"], registry=self.registry)
        self.prometheus_queries = Counter("kubenas_prometheus_queries_total",
                                          "Queries sent to Prometheus for learning curves.",
                                          ["result"], registry=self.registry)
        self.reconcile_errors = Counter("kubenas_reconcile_errors_total",
                                        "Reconciles that raised and will be retried.",
                                        registry=self.registry)
        self.reconcile_duration = Histogram(
            "kubenas_reconcile_duration_seconds", "Time of one experiment reconcile.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry)
        self.leader = Gauge("kubenas_leader", "1 while this replica acts: it holds the "
                            "leader Lease, or runs without leader election.",
                            registry=self.registry)
        self.leader.set(1)
        self.registry.register(_PhaseGauges(self))

    def observe(self, key: Key, phase: str | None, counts: dict[str, int] | None) -> None:
        """Record an experiment's state after a reconcile; None forgets it (deleted)."""
        if phase is None or counts is None:
            self.phases.pop(key, None)
            self.trial_counts.pop(key, None)
        else:
            self.phases[key] = phase
            self.trial_counts[key] = counts

    def query(self, ok: bool) -> None:
        self.prometheus_queries.labels("success" if ok else "error").inc()


async def serve(metrics: OperatorMetrics, port: int, stale_after_s: float) -> web.AppRunner:
    """Start /metrics and /healthz.

    Healthz answers from the event loop, so a blocked loop fails it by timing out; it also
    fails when a reconcile has been running for longer than `stale_after_s` (a hung call).
    """

    async def metrics_view(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(metrics.registry),
                            headers={"Content-Type": "text/plain; version=0.0.4"})

    async def healthz(_: web.Request) -> web.Response:
        now = time.monotonic()
        stuck = [f"{ns}/{name}" for (ns, name), since in metrics.busy_since.items()
                 if now - since > stale_after_s]
        if stuck:
            return web.Response(status=503, text=f"reconcile stuck for {', '.join(stuck)}\n")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    return runner
