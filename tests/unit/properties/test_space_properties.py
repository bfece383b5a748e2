"""Property-based: search-space invariants and engine determinism over generated spaces.

Spaces mix choices (of mixed scalar types), int ranges with steps, float ranges (plain and
log) and repeats, fixed or set by an int parameter; whatever the mix, the grid lists exactly
`size` encodings, every sampled, mutated, crossed or neighbouring architecture is a member of
the space, and the same spec, seed and history give the same decisions.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment, StrategySpec
from kubenas.engine.engine import Engine
from kubenas.space.space import SearchSpace

PROFILE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHOICE = st.lists(st.one_of(st.integers(-5, 5), st.sampled_from(["a", "b", "c", "d"]),
                            st.sampled_from([0.25, 0.5, 1.5]), st.booleans()),
                  min_size=1, max_size=4, unique_by=lambda v: (type(v), v))


@st.composite
def parameters(draw: st.DrawFn, finite: bool) -> list[dict[str, Any]]:
    depth = {"min": 1, "max": draw(st.integers(1, 3))}
    out: list[dict[str, Any]] = [{"name": "depth", "int": depth}]
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["choice", "int"] + ([] if finite else ["float"])))
        p: dict[str, Any] = {"name": f"p{i}"}
        if kind == "choice":
            p["choice"] = draw(CHOICE)
        elif kind == "int":
            low = draw(st.integers(-10, 10))
            p["int"] = {"min": low, "max": low + draw(st.integers(0, 6)),
                        "step": draw(st.integers(1, 3))}
        else:
            log = draw(st.booleans())
            low = draw(st.floats(0.01, 10)) if log else draw(st.floats(-10, 10))
            p["float"] = {"min": low, "max": low + draw(st.floats(0, 10)), "log": log}
        repeat = draw(st.sampled_from([None, 2, "depth"]))
        if repeat is not None:
            p["repeat"] = repeat
        out.append(p)
    return out


def experiment(params: list[dict[str, Any]], strategy: str = "random",
               seed: int = 0) -> Experiment:
    return parse({"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
                  "metadata": {"name": "prop"},
                  "spec": {"objective": {"metric": "score"},
                           "searchSpace": {"family": "toy", "parameters": params},
                           "strategy": {"name": strategy, "seed": seed},
                           "budget": {"maxTrials": 12, "maxParallelTrials": 2},
                           "trialTemplate": {"command": ["toy"]}}})


@PROFILE
@given(params=parameters(finite=True))
def test_the_grid_lists_exactly_size_encodings(params: list[dict[str, Any]]) -> None:
    space = SearchSpace(experiment(params).space)
    grid = list(space.grid())
    assert len(grid) == space.size
    assert len({repr(a) for a in grid}) == len(grid)
    assert all(space.validate(a) == [] for a in grid)


@PROFILE
@given(params=parameters(finite=False), seed=st.integers(0, 2**31 - 1))
@example(params=[{"name": "depth", "int": {"min": 1, "max": 1}},  # exp(log(x)) overshot x
                 {"name": "p0", "float": {"min": 0.125, "max": 0.125, "log": True}}], seed=0)
def test_every_operation_stays_in_the_space(params: list[dict[str, Any]], seed: int) -> None:
    space = SearchSpace(experiment(params).space)
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    width = len(space.encode(a))
    for arch in (a, b, space.mutate(a, rng), space.crossover(a, b, rng),
                 *space.neighbours(a, rng)[:20]):
        assert space.validate(arch) == [], (arch, space.validate(arch))
        assert len(space.encode(arch)) == width
        assert np.all(np.isfinite(space.encode(arch)))
        assert space.key(arch) == space.key(dict(arch))
    assert math.isfinite(space.size) == space.finite


def _history(exp: Experiment, steps: int) -> list[Trial]:
    """Drive an engine, scoring each architecture by a fixed function of its encoding."""
    engine, trials = Engine(exp), []
    space = SearchSpace(exp.space)
    for _ in range(steps):
        decision = engine.decide(trials)
        trials += [Trial(n.index, n.arch, n.budget, n.rung, n.parent, phase="Succeeded",
                         metrics={"score": float(np.sin(space.encode(n.arch).sum()))})
                   for n in decision.create]
        if decision.outcome is not None:
            break
    return trials


@PROFILE
@given(params=parameters(finite=True), seed=st.integers(0, 1000),
       strategy=st.sampled_from(["random", "evolution", "bo", "tpe", "reinforce", "grid"]))
@example(params=[{"name": "depth", "int": {"min": 1, "max": 3}},  # once proposed a duplicate:
                 {"name": "p0", "choice": [0, 1], "repeat": 2}],  # keys were cached by index
         seed=0, strategy="evolution")
def test_the_same_spec_seed_and_history_give_the_same_decisions(
        params: list[dict[str, Any]], seed: int, strategy: str) -> None:
    exp = experiment(params, strategy, seed)
    first, second = _history(exp, 5), _history(exp, 5)
    assert [(t.arch, t.budget) for t in first] == [(t.arch, t.budget) for t in second]
    warmed = Engine(exp)
    for n in range(len(first)):
        warmed.decide(first[:n])
    assert warmed.decide(first) == Engine(exp).decide(first)
    other = replace(exp, strategy=StrategySpec(strategy, seed, {}))
    assert Engine(other).decide(first) == Engine(exp).decide(first)
