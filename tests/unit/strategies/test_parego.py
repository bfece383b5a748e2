"""parego: deterministic, never re-evaluates, and returns a Pareto front on a toy problem."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from kubenas.api.parse import load_file
from kubenas.api.types import Experiment, StrategySpec
from kubenas.backends.tabular.simulate import simulate
from kubenas.engine.status import pareto
from kubenas.space.space import SearchSpace
from kubenas.strategies.parego import scalarise

from tests.unit.tabular import synthetic


@pytest.fixture(scope="module")
def cell_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.cell(tmp_path_factory.mktemp("cell"), duration=300.0)


def _exp(folder: Path, seed: int = 5, **settings: object) -> Experiment:
    exp = load_file(folder / "multi.yaml")
    return replace(exp, strategy=StrategySpec("parego", seed,
                                              {"promotion": "none", "initial": 4, **settings}))


@pytest.mark.parametrize("model", ["composite", "scalar"])
def test_deterministic_no_repeats_and_a_front(model: str, cell_folder: Path) -> None:
    exp = _exp(cell_folder, model=model, samples=200)
    first, second = simulate(exp), simulate(exp)
    trace = [(t.index, repr(dict(t.arch))) for t in first.trials]
    assert trace == [(t.index, repr(dict(t.arch))) for t in second.trials]
    assert len(trace) > 10
    space = SearchSpace(exp.space)
    keys = [space.key(dict(t.arch)) for t in first.trials]
    assert len(keys) == len(set(keys))
    front = pareto(exp, first.trials)
    assert len(front) >= 2
    assert all(o.metric in t.metrics for t in front for o in exp.objective.all)


def test_seeds_differ(cell_folder: Path) -> None:
    runs = [simulate(_exp(cell_folder, seed=s, samples=200)) for s in (1, 2)]
    assert [dict(t.arch) for t in runs[0].trials] != [dict(t.arch) for t in runs[1].trials]


def test_scalarise_prefers_the_weighted_objective() -> None:
    pts = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    acc = scalarise(pts, np.array([0.9, 0.1]), 0.05)
    assert int(np.argmax(acc)) == 0 and int(np.argmin(acc)) == 3
    lat = scalarise(pts, np.array([0.1, 0.9]), 0.05)
    assert int(np.argmax(lat)) == 1
    even = scalarise(pts, np.array([0.5, 0.5]), 0.05)
    assert int(np.argmax(even)) == 2
