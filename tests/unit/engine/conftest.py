from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.engine.engine import Engine


def manifest(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "objective": {"metric": "acc"},
        "searchSpace": {"family": "toy", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 3}},
            {"name": "op", "choice": ["a", "b", "c"], "repeat": "depth"},
            {"name": "width", "choice": [8, 16]},
        ]},
        "strategy": {"name": "evolution", "seed": 3, "settings": {"population": 4}},
        "budget": {"maxTrials": 24, "maxParallelTrials": 2},
        "trialTemplate": {"command": ["toy-trainer"]},
    }
    for key, value in overrides.items():
        spec[key] = value
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "t"}, "spec": spec}


def score(arch: dict[str, Any], budget: float) -> float:
    """A deterministic stand-in for training: deeper 'c'-heavy nets score higher."""
    return sum(0.1 if op == "c" else 0.03 for op in arch["op"]) + arch["width"] / 1000 \
        + budget / 100


def simulate(exp: Experiment, metric: Callable[[dict[str, Any], float], float] = score,
             fail: Callable[[Trial], bool] = lambda t: False) -> tuple[list[Trial], Any]:
    """Drive the engine to completion, finishing the oldest running trial each step."""
    engine = Engine(exp)
    trials: list[Trial] = []
    for step in range(10_000):
        decision = engine.decide(trials, elapsed_s=float(step))
        if decision.outcome:
            return trials, decision.outcome
        trials += [Trial(n.index, n.arch, n.budget, n.rung, n.parent, phase="Running")
                   for n in decision.create]
        running = [t for t in trials if t.phase == "Running"]
        if running:
            t = running[0]
            trials[t.index] = (t.with_(phase="Failed", reason="Error") if fail(t) else
                               t.with_(phase="Succeeded",
                                       metrics={"acc": metric(dict(t.arch), t.budget)}))
    raise AssertionError("engine never finished")


@pytest.fixture
def make_exp() -> Callable[..., Experiment]:
    return lambda **kw: parse(manifest(**kw))
