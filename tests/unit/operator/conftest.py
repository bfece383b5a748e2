"""Helpers for operator unit tests: manifests, a fake API and a fake kubelet."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubenas.backends.kubernetes.kube import experiment_path
from kubenas.backends.kubernetes.observability import OperatorMetrics
from kubenas.backends.kubernetes.reconcile import PassResult, Reconciler, Settings

from .fake_api import FakeApi

NS = "ns"
EXPERIMENTS = f"/apis/kubenas.io/v1alpha1/namespaces/{NS}/nasexperiments"
TRIALS = f"/apis/kubenas.io/v1alpha1/namespaces/{NS}/nastrials"
PODS = f"/api/v1/namespaces/{NS}/pods"


def manifest(name: str = "e", budget: dict[str, Any] | None = None,
             template: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objective": {"metric": "val_accuracy"},
        "searchSpace": {"family": "macro_cnn", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 4}},
            {"name": "width", "choice": [16, 32, 64]},
            {"name": "op", "choice": ["conv3x3"], "repeat": "depth"}]},
        "strategy": {"name": "random", "seed": 3},
        "budget": {"maxTrials": 6, "maxParallelTrials": 2, **(budget or {})},
        "training": {"epochs": 2},
        "trialTemplate": template or {},
        **spec,
    }
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": name, "namespace": NS}, "spec": body}


def score(arch: dict[str, Any]) -> float:
    """A deterministic stand-in for training: bigger is better, with diminishing returns."""
    depth, width = arch.get("depth", 1), arch.get("width", 16)  # other spaces score alike
    if not isinstance(depth, int | float) or not isinstance(width, int | float):
        return 0.5
    return round(0.5 + 0.1 * depth + width / 1000, 6)


class FakeKubelet:
    """Moves trial pods one step per call: Pending -> Running -> Succeeded (or a fate)."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.fates: dict[str, dict[str, Any]] = {}  # pod name -> status to end with

    def step(self) -> None:
        for pod in self.api.list("/api/v1/pods"):
            name = pod["metadata"]["name"]
            phase = (pod.get("status") or {}).get("phase")
            path = f"{PODS}/{name}"
            if phase is None:
                self.api.objects[path]["status"] = {"phase": "Running",
                                                    "startTime": "2025-01-01T00:00:00Z",
                                                    "podIP": "127.0.0.9"}
            elif phase == "Running":
                self.api.objects[path]["status"] = self.fates.pop(name, None) or self._done(pod)

    @staticmethod
    def _done(pod: dict[str, Any]) -> dict[str, Any]:
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        arch = json.loads(env["KUBENAS_ARCHITECTURE"])["params"]
        result = {"metrics": {"val_accuracy": score(arch)}, "curve": [score(arch)]}
        return {"phase": "Succeeded", "startTime": "2025-01-01T00:00:00Z",
                "containerStatuses": [{"name": "trainer", "state": {"terminated": {
                    "exitCode": 0, "reason": "Completed", "finishedAt": "2025-01-01T00:01:00Z",
                    "message": json.dumps(result)}}}]}


class World:
    """One fake cluster plus an operator that can be 'restarted' (rebuilt) at will."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.api = FakeApi()
        self.kubelet = FakeKubelet(self.api)
        self.clock = 1_700_000_000.0
        self.metrics = OperatorMetrics()
        self.api.put(EXPERIMENTS, copy.deepcopy(body))
        self.name = body["metadata"]["name"]
        self.restart()

    def restart(self) -> None:
        self.reconciler = Reconciler(self.api, Settings("trainer:test", now=lambda: self.clock),
                                     self.metrics)

    def reconcile(self) -> PassResult:
        self.clock += 1
        return self.reconciler.reconcile(NS, self.name)

    def experiment(self) -> dict[str, Any]:
        obj = self.api.get(experiment_path(NS, self.name))
        assert obj is not None
        return obj

    def status(self) -> dict[str, Any]:
        return self.experiment().get("status") or {}

    def trials(self) -> list[dict[str, Any]]:
        return sorted(self.api.items(TRIALS), key=lambda t: t["spec"]["index"])

    def edit(self, spec_patch: dict[str, Any]) -> None:
        self.api.patch(experiment_path(NS, self.name), {"spec": spec_patch})

    def run(self, limit: int = 200) -> dict[str, Any]:
        for _ in range(limit):
            self.reconcile()
            if self.status().get("phase") in ("Succeeded", "Failed"):
                return self.status()
            self.kubelet.step()
        raise AssertionError(f"did not finish: {self.status()}")


@pytest.fixture
def world() -> World:
    return World(manifest())
