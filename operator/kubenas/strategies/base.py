"""The interface every search strategy implements, and what it is given.

A strategy is a pure function of its context: the search space, the trial history and a
generator seeded from (experiment seed, trial index). It keeps no state between calls that
it could not rebuild from the history, so an operator that restarts, or a second replica,
proposes exactly what the first would have. It only proposes architectures: which trials
climb to larger budgets is the engine's scheduling policy (`kubenas.engine.promotion`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from kubenas.api import strategy_settings
from kubenas.api.trials import Trial, objective_value
from kubenas.api.types import Experiment, ObjectiveSpec
from kubenas.space.space import Architecture, SearchSpace

MAX_ATTEMPTS = 200


@dataclass
class SearchContext:
    """Everything a strategy may look at to propose trial `index`."""

    experiment: Experiment
    space: SearchSpace
    trials: Sequence[Trial]
    index: int
    elapsed_s: float = 0.0
    seen_keys: set[str] = field(default_factory=set)
    memo: dict[int, tuple[Trial, float | None]] = field(default_factory=dict)
    """value() per trial index, valid while the record is the same object; the engine
    shares one across calls so that a long history is not re-scored on every proposal."""

    @property
    def objective(self) -> ObjectiveSpec:
        return self.experiment.objective

    @property
    def settings(self) -> dict[str, Any]:
        return self.experiment.strategy.settings

    @cached_property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.experiment.strategy.seed, self.index])

    @property
    def levels(self) -> tuple[float, ...]:
        fid = self.experiment.fidelity
        return fid.levels if fid else (self.experiment.max_budget,)

    def value(self, trial: Trial) -> float | None:
        """The trial's primary objective turned so that larger is better (None if unknown).

        An infeasible trial (outside objective.constraints) scores below every feasible one.
        """
        known = self.memo.get(trial.index)
        if known is not None and known[0] is trial:
            return known[1]
        raw = objective_value(self.experiment, trial)
        value = None
        if raw is not None:
            score = self.objective.primary.score(raw)
            value = score if self.objective.feasible(dict(trial.metrics)) else score - 1e9
        self.memo[trial.index] = (trial, value)
        return value

    def completed(self, rung: int | None = 0) -> list[tuple[Trial, float]]:
        """Succeeded trials (at one rung, or all rungs with None) in index order, with values."""
        out = []
        for t in self.trials:
            v = self.value(t)
            if v is not None and (rung is None or t.rung == rung):
                out.append((t, v))
        return out

    def key(self, arch: Architecture) -> str:
        return self.space.key(arch)

    def seen(self, arch: Architecture) -> bool:
        return self.key(arch) in self.seen_keys

    def fresh(self, candidate: Callable[[], Architecture]) -> Architecture | None:
        """The first candidate not yet tried; falls back to any untried architecture.

        None means every architecture of a finite space has been tried.
        """
        for _ in range(MAX_ATTEMPTS):
            arch = candidate()
            if not self.seen(arch):
                return arch
        return self.any_unseen()

    def any_unseen(self) -> Architecture | None:
        """A uniformly drawn untried network of a listable space, else a random sample."""
        networks = self.space.networks()
        if networks is None:
            for _ in range(MAX_ATTEMPTS):
                arch = self.space.sample(self.rng)
                if not self.seen(arch):
                    return arch
            return None
        archs, keys = networks
        unseen = [a for a, k in zip(archs, keys, strict=True) if k not in self.seen_keys]
        return unseen[int(self.rng.integers(len(unseen)))] if unseen else None


class Strategy(ABC):
    """Proposes architectures. How trials climb fidelity levels is the engine's business."""

    name: ClassVar[str]

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @classmethod
    def info(cls) -> strategy_settings.StrategyInfo:
        return strategy_settings.STRATEGIES[cls.name]

    def setting(self, name: str) -> Any:
        return strategy_settings.value(self.name, self.settings, name)

    @abstractmethod
    def propose(self, ctx: SearchContext) -> Architecture | None:
        """A new architecture for trial ctx.index, or None when the strategy has no more."""
