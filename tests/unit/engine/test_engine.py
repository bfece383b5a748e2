"""The engine's decisions: determinism, stopping rules, parallelism and ASHA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.engine.engine import Engine
from kubenas.engine.status import summarize

from .conftest import simulate


@pytest.mark.parametrize("strategy", ["random", "grid", "evolution"])
def test_same_spec_seed_and_history_give_the_same_decisions(
        make_exp: Callable[..., Experiment], strategy: str) -> None:
    exp = make_exp(strategy={"name": strategy, "seed": 11})
    first, _ = simulate(exp)
    second, _ = simulate(exp)
    assert [(t.arch, t.budget, t.parent) for t in first] == \
        [(t.arch, t.budget, t.parent) for t in second]
    # A fresh engine (an operator restart) given a prefix of the history continues identically.
    prefix = [t for t in first[:7]]
    decision = Engine(exp).decide(prefix, elapsed_s=0)
    assert decision.create and decision.create[0].arch == first[7].arch


def test_another_seed_gives_other_decisions(make_exp: Callable[..., Experiment]) -> None:
    a, _ = simulate(make_exp(strategy={"name": "random", "seed": 1}))
    b, _ = simulate(make_exp(strategy={"name": "random", "seed": 2}))
    assert [t.arch for t in a] != [t.arch for t in b]


def test_max_trials_and_parallelism(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(budget={"maxTrials": 9, "maxParallelTrials": 3})
    engine = Engine(exp)
    first = engine.decide([])
    assert len(first.create) == 3
    trials = [Trial(n.index, n.arch, n.budget, phase="Running") for n in first.create]
    assert engine.decide(trials).create == ()
    assert len(engine.decide(trials, capacity=4).create) == 0  # capacity never raises the cap
    assert len(engine.decide(trials[:2], capacity=2).create) == 0
    done, outcome = simulate(exp)
    assert len(done) == 9 and outcome.reason == "MaxTrialsReached"
    assert outcome.phase == "Succeeded"


def test_goal_ends_the_search_and_stops_running_trials(
        make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(objective={"metric": "acc", "goal": 0.2})
    trials, outcome = simulate(exp)
    assert outcome.reason == "GoalReached"
    assert len(trials) < 24
    running = [Trial(0, {"depth": 1, "op": ["c"], "width": 8}, 5, phase="Succeeded",
                     metrics={"acc": 0.5}),
               Trial(1, {"depth": 1, "op": ["a"], "width": 8}, 5, phase="Running")]
    decision = Engine(exp).decide(running)
    assert decision.stop == ((1, "GoalReached"),)


def test_max_duration(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(budget={"maxTrials": 50, "maxDuration": "10s"})
    _, outcome = simulate(exp)
    assert outcome.reason == "MaxDurationReached" and outcome.phase == "Succeeded"
    assert Engine(exp).decide([], elapsed_s=11).outcome.reason == "NoTrialSucceeded"


def test_max_failed_trials_fails_the_experiment(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(budget={"maxTrials": 20, "maxFailedTrials": 2})
    trials, outcome = simulate(exp, fail=lambda t: True)
    assert outcome.phase == "Failed" and outcome.reason == "MaxFailedTrialsReached"
    assert sum(t.phase == "Failed" for t in trials) == 3
    assert "more than budget.maxFailedTrials=2" in outcome.message


def test_exhausted_space_finishes(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(strategy={"name": "grid"}, budget={"maxTrials": 500})
    trials, outcome = simulate(exp)
    assert outcome.reason == "SearchSpaceExhausted"
    assert len(trials) == 2 * (3 + 9 + 27)  # every (width, depth, ops) combination once


def test_suspend_stops_running_and_starts_nothing(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(suspend=True)
    trials = [Trial(0, {"depth": 1, "op": ["a"], "width": 8}, 5, phase="Running")]
    decision = Engine(exp).decide(trials)
    assert decision.create == () and decision.stop == ((0, "Suspended"),)


def test_asha_promotes_the_top_third(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(fidelity={"min": 1, "max": 9, "reductionFactor": 3},
                   strategy={"name": "random", "seed": 5},
                   budget={"maxTrials": 40, "maxParallelTrials": 2})
    engine = Engine(exp)
    archs = [{"depth": 1, "op": [op], "width": w} for op in "abc" for w in (8, 16)]
    values = [0.1, 0.5, 0.3, 0.9, 0.2, 0.4]
    trials = [Trial(i, a, 1.0, phase="Succeeded", metrics={"acc": v})
              for i, (a, v) in enumerate(zip(archs[:2], values, strict=False))]
    # Two results at rung 0: floor(2/3) = 0 promotions, so a new architecture is proposed.
    assert [(n.rung, n.parent, n.budget) for n in engine.decide(trials).create] == \
        [(0, None, 1.0)] * 2
    trials = [Trial(i, a, 1.0, phase="Succeeded", metrics={"acc": v})
              for i, (a, v) in enumerate(zip(archs, values, strict=True))]
    # Six results: floor(6/3) = 2 promotions, best first: trial 3 (0.9), then trial 1 (0.5).
    first, second = engine.decide(trials).create
    assert (first.rung, first.parent, first.budget, first.arch) == (1, 3, 3.0, archs[3])
    assert (second.rung, second.parent, second.budget) == (1, 1, 3.0)


def test_asha_runs_end_to_end_with_resumable_promotions(
        make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(fidelity={"min": 1, "max": 9, "reductionFactor": 3},
                   budget={"maxTrials": 40, "maxParallelTrials": 2})
    trials, _ = simulate(exp)
    by_rung = [sum(t.rung == r for t in trials) for r in range(3)]
    assert by_rung[1] >= 1 and by_rung[2] >= 1
    assert by_rung[0] > by_rung[1] > by_rung[2]
    for t in trials:
        if t.parent is not None:
            parent = trials[t.parent]
            assert parent.arch == t.arch and parent.rung == t.rung - 1
            assert t.budget == exp.fidelity.levels[t.rung]
    best = summarize(exp, trials)["bestTrial"]
    assert best["budget"] == 9.0  # the best comes from the largest budget reached


def test_status_is_bounded(make_exp: Callable[..., Experiment]) -> None:
    exp = make_exp(strategy={"name": "random"}, budget={"maxTrials": 2000},
                   searchSpace={"family": "f", "parameters": [
                       {"name": "x", "float": {"min": 0, "max": 1}}]},
                   objective={"metric": "acc", "additional": [
                       {"metric": "lat", "direction": "minimize"}]})
    trials = [Trial(i, {"x": i / 2000}, 5, phase="Succeeded",
                    metrics={"acc": i / 2000, "lat": i / 2000}) for i in range(2000)]
    status = summarize(exp, trials)
    assert status["trials"]["total"] == 2000
    assert len(status["leaderboard"]) == 10
    assert 1 <= len(status["paretoFront"]) <= 32
    assert status["bestTrial"]["name"] == "t-1999"
