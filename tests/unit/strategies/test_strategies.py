"""Every strategy: deterministic, never re-evaluates an architecture, stops when exhausted."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from kubenas.api.parse import load_file
from kubenas.api.schema import strategy_schema
from kubenas.api.strategy_settings import STRATEGIES
from kubenas.api.types import Constraint, Experiment, StrategySpec
from kubenas.backends.tabular.simulate import Answers, simulate
from kubenas.backends.tabular.table import load_for
from kubenas.engine.engine import Engine
from kubenas.engine.status import summarize
from kubenas.space.space import SearchSpace
from kubenas.strategies import REGISTRY, SearchContext

from tests.unit.tabular import synthetic

SINGLE = sorted(n for n, s in STRATEGIES.items() if s.single_objective and not s.one_shot)
MULTI = sorted(n for n, s in STRATEGIES.items() if s.multi_objective)


def test_schema_enum_equals_the_registry() -> None:
    assert {n for n, s in STRATEGIES.items() if not s.one_shot} == set(REGISTRY)
    assert "default" not in strategy_schema()["properties"]["name"]  # it depends on objectives


@pytest.mark.parametrize(("multi", "expected"), [(False, "bo"), (True, "parego")])
def test_an_unnamed_strategy_defaults_by_the_number_of_objectives(
        multi: bool, expected: str, tmp_path: Path) -> None:
    folder = synthetic.small(tmp_path)
    manifest = yaml.safe_load((folder / ("multi.yaml" if multi else "single.yaml")).read_text())
    del manifest["spec"]["strategy"]
    (folder / "unnamed.yaml").write_text(yaml.safe_dump(manifest))
    exp = load_file(folder / "unnamed.yaml")
    assert exp.strategy.name == expected
    info = STRATEGIES[expected]
    assert info.multi_objective if multi else info.single_objective
    run = simulate(exp, Answers(exp, load_for(exp)))
    assert run.trials and summarize(exp, run.trials)["strategy"] == expected


@pytest.fixture(scope="module")
def cell_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.cell(tmp_path_factory.mktemp("cell"), duration=300.0)


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.small(tmp_path_factory.mktemp("small"), duration=120.0)


def _variant(path: Path, name: str, seed: int = 3, **settings: object) -> Experiment:
    exp = load_file(path)
    return replace(exp, strategy=StrategySpec(name, seed, {"promotion": "none", **settings}))


def _sequence(exp: Experiment, answers: Answers) -> list[tuple]:
    run = simulate(exp, answers)
    return [(t.index, repr(dict(t.arch)), t.budget, t.phase) for t in run.trials]


@pytest.mark.parametrize("name", [*SINGLE, *(f"{n}:multi" for n in MULTI)])
def test_same_seed_same_trials_and_no_architecture_twice(name: str, cell_folder: Path) -> None:
    name, _, multi = name.partition(":")
    exp = _variant(cell_folder / ("multi.yaml" if multi else "single.yaml"), name)
    answers = Answers(exp, load_for(exp))
    first = _sequence(exp, answers)
    assert first == _sequence(exp, answers)
    assert len(first) > 10
    space = SearchSpace(exp.space)
    run = simulate(exp, answers)
    keys = [space.key(dict(t.arch)) for t in run.trials if t.parent is None]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", SINGLE)
def test_exhausting_a_tiny_space_ends_the_search(name: str, small_folder: Path) -> None:
    exp = _variant(small_folder / "single.yaml", name)
    exp = replace(exp, budget=replace(exp.budget, max_duration_s=1e9))
    run = simulate(exp)
    assert run.outcome is not None and run.outcome.reason == "SearchSpaceExhausted"
    space = SearchSpace(exp.space)
    assert len({space.key(dict(t.arch)) for t in run.trials}) == len(run.trials) == 24


@pytest.mark.parametrize("name", SINGLE)
def test_a_proposal_depends_only_on_seed_and_history(name: str, small_folder: Path) -> None:
    exp = _variant(small_folder / "single.yaml", name)
    run = simulate(exp)
    history = list(run.trials[:8])
    fresh = [Engine(exp).decide(history, elapsed_s=50.0) for _ in range(2)]
    warmed = Engine(exp)
    for n in range(1, 8):
        warmed.decide(history[:n], elapsed_s=10.0)
    assert fresh[0] == fresh[1] == warmed.decide(history, elapsed_s=50.0)


def test_final_promotion_promotes_the_best_when_just_enough_time_is_left(
        cell_folder: Path) -> None:
    exp = _variant(cell_folder / "single.yaml", "random", promotion="final",
                   promoteCandidates=2, promoteShare=0.9)
    exp = replace(exp, budget=replace(exp.budget, max_duration_s=3000.0))
    run = simulate(exp)
    promoted = [t for t in run.trials if t.parent is not None]
    assert len(promoted) >= 2
    parents = [run.trials[t.parent] for t in promoted]
    low = sorted((t for t in run.trials if t.rung == 0 and t.phase == "Succeeded"),
                 key=lambda t: -t.metrics["score"])
    assert [p.index for p in parents[:2]] == [t.index for t in low[:2]]
    assert run.best is not None and run.best.rung == 1


def test_final_promotion_stays_low_when_two_promotions_do_not_fit(cell_folder: Path) -> None:
    exp = _variant(cell_folder / "single.yaml", "random", promotion="final", promoteShare=0.1)
    assert all(t.parent is None for t in simulate(exp).trials)


@pytest.mark.parametrize(("duration", "promotes"), [(3000.0, True), (300.0, False)])
def test_bo_by_default_promotes_its_best_only_when_two_promotions_fit_a_quarter(
        cell_folder: Path, duration: float, promotes: bool) -> None:
    exp = load_file(cell_folder / "single.yaml")
    exp = replace(exp, strategy=StrategySpec("bo", 3, {}),
                  budget=replace(exp.budget, max_duration_s=duration))
    run = simulate(exp)
    promoted = [t for t in run.trials if t.parent is not None]
    assert (len(promoted) >= 2) is promotes and (promoted == []) is not promotes
    assert run.best is not None and run.best.rung == (1 if promotes else 0)


def test_constrained_search_returns_a_feasible_best(small_folder: Path) -> None:
    exp = _variant(small_folder / "single.yaml", "bo")
    objective = replace(exp.objective, constraints=(Constraint("latency", max=5.0),))
    exp = replace(exp, objective=objective)
    run = simulate(exp)
    assert run.best is not None and run.best.metrics["latency"] <= 5.0


def test_search_context_value_penalises_infeasible(small_folder: Path) -> None:
    exp = _variant(small_folder / "single.yaml", "random")
    run = simulate(exp)
    ctx = SearchContext(exp, SearchSpace(exp.space), run.trials, len(run.trials))
    assert all(ctx.value(t) is not None for t in run.trials if t.phase == "Succeeded")
