"""Search strategies, by the name a NASExperiment uses in `spec.strategy.name`."""

from __future__ import annotations

from typing import Any

from kubenas.api.schema import obj
from kubenas.api.types import StrategySpec
from kubenas.api.validate import FieldError, validate
from kubenas.strategies.base import Promotion, SearchContext, Strategy
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

__all__ = ["REGISTRY", "Promotion", "SearchContext", "Strategy", "make", "settings_errors"]


def make(spec: StrategySpec) -> Strategy:
    return REGISTRY[spec.name](spec.settings)


def settings_errors(name: str, settings: dict[str, Any]) -> list[FieldError]:
    """Check `spec.strategy.settings` against the strategy's own settings schema."""
    cls = REGISTRY.get(name)
    if cls is None:
        return [FieldError("spec.strategy.name", f"strategy {name!r} is not available; valid: "
                                                 f"{', '.join(sorted(REGISTRY))}")]
    schema = obj(f"Settings of {name}.", cls.settings_schema)
    _, errors = validate(schema, settings, "spec.strategy.settings")
    return errors
