"""NASExperiments and NASTrials as dashboard snapshots, read with the user's kubeconfig.

Only get and list, through the operator's own REST helper (`Kube`), so the dashboard needs
no more than read access to the two kinds. The experiments page reads statuses alone; one
experiment's page lists its NASTrials by the label the operator puts on them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kubenas.api.parse import ManifestError, parse
from kubenas.api.schema import GROUP, VERSION
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.kubernetes.kube import Api, ApiError, Kube, experiment_path, trial_path
from kubenas.backends.kubernetes.objects import EXPERIMENTS, Obj, selector
from kubenas.backends.kubernetes.trials import to_record
from kubenas.dashboard.views import NotFound, ReadError, Snapshot

T = TypeVar("T")
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def connect(kubeconfig: str | None, context: str | None) -> tuple[Kube, str]:
    """A client and its namespace: the kubeconfig (--kubeconfig, KUBECONFIG,
    ~/.kube/config), or in a pod without one (the chart's Deployment) its ServiceAccount."""
    in_pod = os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG")
    if kubeconfig is None and context is None and in_pod:
        try:
            k8s_config.load_incluster_config()
        except k8s_config.ConfigException as exc:
            raise ReadError(f"cannot use the pod's ServiceAccount: {exc}") from None
        try:
            namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
        except OSError:
            namespace = "default"
        return Kube(k8s.ApiClient()), namespace
    try:
        client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except (k8s_config.ConfigException, OSError, ValueError, TypeError) as exc:
        raise ReadError(f"cannot load the kubeconfig: {exc}") from None
    chosen = next((c for c in contexts if c["name"] == context), active) if context else active
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return Kube(client), namespace


class ClusterExperiments:
    mode = "cluster"

    def __init__(self, api: Api, namespaces: tuple[str, ...] | None, server: str = "") -> None:
        """`namespaces` None reads every namespace (which needs a ClusterRole)."""
        self.api = api
        self.namespaces = namespaces
        self.server = server
        self._specs: dict[str, Experiment | str] = {}

    def describe(self) -> str:
        where = "all namespaces" if self.namespaces is None else \
            f"namespace{'s' if len(self.namespaces) > 1 else ''} {', '.join(self.namespaces)}"
        return f"NASExperiments in {where}" + (f" of {self.server}" if self.server else "")

    def _list_paths(self) -> list[str]:
        if self.namespaces is None:
            return [f"/apis/{GROUP}/{VERSION}/{EXPERIMENTS}"]
        return [experiment_path(n) for n in self.namespaces]

    def check(self) -> None:
        self.snapshots()

    def snapshots(self) -> list[Snapshot]:
        objs: list[Obj] = []
        for path in self._list_paths():
            objs += self._call(partial(self.api.list, path))
        return [self._snapshot(o, None) for o in sorted(
            objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))]

    def snapshot(self, exp_id: str) -> Snapshot:
        namespace, _, name = exp_id.partition("/")
        if not name or (self.namespaces is not None and namespace not in self.namespaces):
            raise NotFound(f"no NASExperiment {exp_id!r} here")
        obj = self._call(lambda: self.api.get(experiment_path(namespace, name)))
        if obj is None:
            raise NotFound(f"no NASExperiment {exp_id!r}")
        objs = self._call(lambda: self.api.list(trial_path(namespace),
                                                label_selector=selector(name)))
        records = sorted((to_record(o) for o in objs), key=lambda t: t.index)
        # Every write changes an object's resourceVersion, so these name the state read.
        versions = sorted(f"{o['metadata']['name']}@{o['metadata'].get('resourceVersion')}"
                          for o in [obj, *objs])
        version = hashlib.sha256("\n".join(versions).encode()).hexdigest()[:16]
        return self._snapshot(obj, tuple(records), version)

    def _snapshot(self, obj: Obj, trials: tuple[Trial, ...] | None,
                  version: str = "") -> Snapshot:
        meta = obj["metadata"]
        namespace, name = meta.get("namespace", "default"), meta["name"]
        spec = self._spec(obj)
        return Snapshot(id=f"{namespace}/{name}", name=name, namespace=namespace,
                        exp=spec if isinstance(spec, Experiment) else None,
                        status=obj.get("status") or {}, trials=trials,
                        problem=spec if isinstance(spec, str) else None, version=version)

    def _spec(self, obj: Obj) -> Experiment | str:
        """Parsed once per generation: the spec only changes with it."""
        meta = obj["metadata"]
        key = f"{meta.get('uid')}/{meta.get('generation')}"
        if key not in self._specs:
            try:
                self._specs[key] = parse(obj, source=meta["name"])
            except ManifestError as exc:
                self._specs[key] = "; ".join(map(str, exc.errors))
        return self._specs[key]

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except ApiError as exc:
            where = f" at {self.server}" if self.server else ""
            if exc.status == 0:
                cause = re.search(r"\[Errno -?\d+\] ([^\"')]+)", exc.message)
                raise ReadError(f"cannot reach the Kubernetes API{where}: "
                                f"{cause[1] if cause else 'no answer'}") from None
            raise ReadError(f"the Kubernetes API{where} refused {exc.message} "
                            f"({exc.status} {exc.reason})".rstrip()) from None
