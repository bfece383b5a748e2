"""Search strategies, by the name a NASExperiment uses in `spec.strategy.name`."""

from __future__ import annotations

from kubenas.api.types import StrategySpec
from kubenas.strategies.base import SearchContext, Strategy
from kubenas.strategies.bo import BayesianOptimisation
from kubenas.strategies.evolution import RegularizedEvolution
from kubenas.strategies.grid import GridSearch
from kubenas.strategies.nsga2 import NSGA2
from kubenas.strategies.parego import ParEGO
from kubenas.strategies.random_search import RandomSearch
from kubenas.strategies.reinforce import Reinforce
from kubenas.strategies.tpe import TPE

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (RandomSearch, GridSearch, RegularizedEvolution,
                              BayesianOptimisation, TPE, Reinforce, NSGA2,
                              ParEGO)
}

__all__ = ["REGISTRY", "SearchContext", "Strategy", "make"]


def make(spec: StrategySpec) -> Strategy:
    return REGISTRY[spec.name](spec.settings)
