"""Typed, validated view of a NASExperiment. Built only by `kubenas.api.parse`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["maximize", "minimize"]
JSON = Any


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: Direction = "maximize"

    def better(self, a: float, b: float) -> bool:
        """True when a is strictly better than b."""
        return a > b if self.direction == "maximize" else a < b

    def score(self, value: float) -> float:
        """The value turned so that larger is always better."""
        return value if self.direction == "maximize" else -value


@dataclass(frozen=True)
class Constraint:
    metric: str
    min: float | None = None
    max: float | None = None

    def holds(self, metrics: dict[str, float]) -> bool:
        value = metrics.get(self.metric)
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class ObjectiveSpec:
    primary: Objective
    goal: float | None = None
    additional: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    @property
    def all(self) -> tuple[Objective, ...]:
        return (self.primary, *self.additional)

    @property
    def multi(self) -> bool:
        return bool(self.additional)

    def feasible(self, metrics: dict[str, float]) -> bool:
        return all(c.holds(metrics) for c in self.constraints)

    def goal_reached(self, value: float) -> bool:
        if self.goal is None:
            return False
        return not self.primary.better(self.goal, value)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: Literal["choice", "int", "float"]
    choices: tuple[JSON, ...] = ()
    low: float = 0.0
    high: float = 0.0
    step: int = 1
    log: bool = False
    repeat: int | str | None = None

    @property
    def finite(self) -> bool:
        return self.kind != "float"

    def values(self) -> tuple[JSON, ...]:
        """Every value of a finite parameter, in a fixed order."""
        if self.kind == "choice":
            return self.choices
        if self.kind == "int":
            return tuple(range(int(self.low), int(self.high) + 1, self.step))
        raise ValueError(f"parameter {self.name} is a float range and has no finite values")

    @property
    def cardinality(self) -> float:
        return len(self.values()) if self.finite else math.inf


@dataclass(frozen=True)
class Cell:
    parameter: str
    nodes: int
    zero_op: str
    identity_op: str | None = None

    @property
    def edges(self) -> list[tuple[int, int]]:
        """(target, source) pairs in the NB201 order: (1,0), (2,0), (2,1), (3,0), ..."""
        return [(t, s) for t in range(1, self.nodes) for s in range(t)]


@dataclass(frozen=True)
class SearchSpaceSpec:
    family: str
    parameters: tuple[Parameter, ...]
    cell: Cell | None = None

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class StrategySpec:
    name: str
    seed: int = 0
    settings: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class Budget:
    max_trials: int = 20
    max_parallel: int = 1
    max_failed: int = 3
    max_duration_s: float | None = None
    trial_timeout_s: float | None = None
    gpu_aware: bool = False


@dataclass(frozen=True)
class Fidelity:
    resource: str
    levels: tuple[float, ...]
    reduction_factor: int = 3

    @property
    def min(self) -> float:
        return self.levels[0]

    @property
    def max(self) -> float:
        return self.levels[-1]


@dataclass(frozen=True)
class TabularFidelity:
    level: float
    metrics: dict[str, str]
    cost_column: str | None  # None: every evaluation costs `cost`
    cost_scale: float = 1.0
    cost: float | None = None


@dataclass(frozen=True)
class TabularSpec:
    table: str
    key_column: str
    key_format: str
    fidelities: tuple[TabularFidelity, ...]
    static_metrics: dict[str, str] = field(default_factory=dict)
    report_metrics: dict[str, str] = field(default_factory=dict)
    resume: bool = True
    judge: dict[str, str] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Export:
    quantize: str = "none"
    dir: str | None = None  # cluster only: trials export to <dir>/<trial>


@dataclass(frozen=True)
class Experiment:
    """A parsed NASExperiment. `spec` keeps the defaulted manifest for trial templates."""

    name: str
    namespace: str
    objective: ObjectiveSpec
    space: SearchSpaceSpec
    strategy: StrategySpec
    budget: Budget
    fidelity: Fidelity | None
    training: dict[str, JSON]
    trial_template: dict[str, JSON]
    tabular: TabularSpec | None
    suspend: bool
    spec: dict[str, JSON]
    export: Export = Export()
    source: str = "<manifest>"

    @property
    def max_budget(self) -> float:
        """Training budget of a trial when there is no fidelity schedule."""
        return self.fidelity.max if self.fidelity else float(self.training["epochs"])
