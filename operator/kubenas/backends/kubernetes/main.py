"""`kubenas operator`: command line, wiring, and the kopf main loop."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket

import kopf

from kubenas.backends.kubernetes.controller import Controller
from kubenas.backends.kubernetes.handlers import Indices, configure, register
from kubenas.backends.kubernetes.kube import Kube, load_client
from kubenas.backends.kubernetes.leader import LeaderElection
from kubenas.backends.kubernetes.learning_curves import (
    CurveSource,
    DirectCurves,
    PrometheusCurves,
)
from kubenas.backends.kubernetes.observability import OperatorMetrics, serve
from kubenas.backends.kubernetes.policy import SAFE_VOLUMES, TrialPodPolicy
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
    p.add_argument("--refused-retry", type=float, default=30.0, metavar="SECONDS",
                   help="how often to retry creating what the API server refused (403, 422)")
    p.add_argument("--keep-finished-pods", type=int, default=20, metavar="N",
                   help="finished trial pods kept per experiment for their logs")
    p.add_argument("--no-node-access", action="store_true",
                   help="never read nodes or other workloads' pods (namespaced installs): "
                        "budget.gpuAware then caps nothing")
    policy = p.add_argument_group("trial-pod policy")
    policy.add_argument("--allow-volume-types", default=",".join(sorted(SAFE_VOLUMES)),
                        help="volume types trial pods may use (default: %(default)s)")
    policy.add_argument("--allow-secrets", default="",
                        help="secrets trial pods may reference, comma-separated; * allows any")
    policy.add_argument("--allow-service-account-token", action="store_true",
                        help="let trial pods mount service-account tokens")
    policy.add_argument("--allow-privileged", action="store_true",
                        help="let trial pods run privileged or with host namespaces")
    election = p.add_argument_group("high availability")
    election.add_argument("--leader-election-namespace",
                          default=os.environ.get("POD_NAMESPACE", ""),
                          help="namespace of the Lease that elects one acting replica; empty "
                               "turns leader election off (one replica only)")
    election.add_argument("--leader-election-name", default="kubenas-operator")
    p.add_argument("--log-level", default="INFO")
    return p


def _names(text: str) -> frozenset[str]:
    return frozenset(n.strip() for n in text.split(",") if n.strip())


def trial_pod_policy(args: argparse.Namespace) -> TrialPodPolicy:
    return TrialPodPolicy(volume_types=_names(args.allow_volume_types),
                          service_account_token=args.allow_service_account_token,
                          secrets=_names(args.allow_secrets), privileged=args.allow_privileged)


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
                        curve_interval_s=args.reconcile_interval,
                        keep_finished_pods=args.keep_finished_pods,
                        refusal_backoff_s=args.refused_retry,
                        policy=trial_pod_policy(args))
    api = Kube(load_client())
    reconciler = Reconciler(api, settings, metrics)
    election = None
    if args.leader_election_namespace:
        election = LeaderElection(api, args.leader_election_namespace,
                                  args.leader_election_name,
                                  f"{socket.gethostname()}-{os.getpid()}")
        metrics.leader.set(0)
    indices = Indices()
    controller = Controller(reconciler, metrics, args.reconcile_interval, indices.snapshot,
                            leading=(lambda: election.is_leader) if election else lambda: True)
    namespaces = [n.strip() for n in args.namespaces.split(",") if n.strip()]
    registry = kopf.OperatorRegistry()
    register(registry, controller, indices, node_access=not args.no_node_access)
    kopf_settings = kopf.OperatorSettings()
    configure(kopf_settings, cluster_wide=not namespaces)
    runner = await serve(metrics, args.port, stale_after_s=STUCK_AFTER_S)
    tasks = [asyncio.create_task(kopf.operator(
        registry=registry, settings=kopf_settings, standalone=True,
        clusterwide=not namespaces, namespaces=namespaces))]
    if election is not None:
        tasks += [asyncio.create_task(election.run()),
                  asyncio.create_task(_follow(election, controller, metrics))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if election is not None:
            await asyncio.to_thread(election.release)
        await runner.cleanup()


async def _follow(election: LeaderElection, controller: Controller,
                  metrics: OperatorMetrics) -> None:
    """A new leader looks at every experiment at once."""
    while True:
        await election.changed.wait()
        election.changed.clear()
        metrics.leader.set(1 if election.is_leader else 0)
        if election.is_leader:
            controller.kick_all()


def run_operator(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)  # one line per watch event
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(operate(args))
    return 0
