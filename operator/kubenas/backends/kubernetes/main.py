"""`kubenas operator`: command line, wiring, and the kopf main loop."""

from __future__ import annotations

import argparse
import asyncio
import logging

import kopf

from kubenas.backends.kubernetes.controller import Controller
from kubenas.backends.kubernetes.handlers import configure, register
from kubenas.backends.kubernetes.kube import Kube, load_client
from kubenas.backends.kubernetes.learning_curves import (
    CurveSource,
    DirectCurves,
    PrometheusCurves,
)
from kubenas.backends.kubernetes.observability import OperatorMetrics, serve
from kubenas.backends.kubernetes.reconcile import Reconciler, Settings
from kubenas.metrics.prometheus import Prometheus

DEFAULT_TRAINER_IMAGE = "ghcr.io/kubenas/trainer:0.1.0"
# Far above a healthy reconcile (each API call times out after 10 s): only a hang gets here.
STUCK_AFTER_S = 300.0
log = logging.getLogger("kubenas.operator")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubenas operator",
                                description="Run the kubenas operator (Kopf) against the "
                                            "cluster of the current kubeconfig or service "
                                            "account.")
    p.add_argument("--prometheus-url", default="",
                   help="Prometheus base URL for learning curves, e.g. "
                        "http://prometheus.monitoring:9090")
    p.add_argument("--metrics-mode", choices=("prometheus", "direct"), default="prometheus",
                   help="read learning curves from Prometheus (default) or by scraping trial "
                        "pods directly (clusters without Prometheus)")
    p.add_argument("--trainer-image", default=DEFAULT_TRAINER_IMAGE,
                   help="image of trials whose trialTemplate sets none")
    p.add_argument("--namespaces", default="",
                   help="comma-separated namespaces to watch; empty watches all")
    p.add_argument("--port", type=int, default=8080, help="port of /metrics and /healthz")
    p.add_argument("--reconcile-interval", type=float, default=2.0,
                   help="seconds between passes over a running experiment")
    p.add_argument("--log-level", default="INFO")
    return p


def curve_source(args: argparse.Namespace, metrics: OperatorMetrics) -> CurveSource | None:
    if args.metrics_mode == "direct":
        return DirectCurves()
    if not args.prometheus_url:
        log.warning("no --prometheus-url: learning curves are off; final metrics still come "
                    "from termination messages (or use --metrics-mode direct)")
        return None
    return PrometheusCurves(Prometheus(args.prometheus_url), metrics.query)


async def operate(args: argparse.Namespace) -> None:
    metrics = OperatorMetrics()
    settings = Settings(args.trainer_image, curve_source(args, metrics),
                        curve_interval_s=args.reconcile_interval)
    reconciler = Reconciler(Kube(load_client()), settings, metrics)
    controller = Controller(reconciler, metrics, args.reconcile_interval)
    registry = kopf.OperatorRegistry()
    register(registry, controller)
    kopf_settings = kopf.OperatorSettings()
    configure(kopf_settings)
    namespaces = [n.strip() for n in args.namespaces.split(",") if n.strip()]
    runner = await serve(metrics, args.port, stale_after_s=STUCK_AFTER_S)
    try:
        await kopf.operator(registry=registry, settings=kopf_settings, standalone=True,
                            clusterwide=not namespaces, namespaces=namespaces)
    finally:
        await runner.cleanup()


def run_operator(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)  # one line per watch event
    asyncio.run(operate(args))
    return 0
