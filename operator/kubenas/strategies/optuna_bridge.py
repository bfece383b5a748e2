"""Optuna studies rebuilt from the trial history, so that Optuna's samplers can propose.

A study holds one distribution per parameter slot (a repeat becomes one slot per position),
every scored trial added through `create_trial`, and is asked for one architecture with a
sampler seeded from the proposal's rng; the asked trial is then told FAIL, which samplers
ignore. Adding trials to a study is slow, so `HistoryStudy` keeps the study between calls
and only adds what is new when the scored history merely grew; any other change rebuilds
it. Either way the study holds the same trials in the same order, so a proposal depends
only on (seed, index, history), as if rebuilt from scratch each time.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from kubenas.api.trials import Trial
from kubenas.api.types import Direction, Parameter
from kubenas.space.space import Architecture, SearchSpace
from kubenas.strategies.base import SearchContext

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def slot_name(param: Parameter, index: int | None) -> str:
    return param.name if index is None else f"{param.name}[{index}]"


def distribution(param: Parameter) -> BaseDistribution:
    if param.kind == "choice":
        return CategoricalDistribution(list(range(len(param.choices))))
    if param.kind == "int":
        return IntDistribution(int(param.low), int(param.high), step=param.step)
    return FloatDistribution(param.low, param.high, log=param.log)


def _to_optuna(param: Parameter, value: Any) -> Any:
    """Choices travel as their index: Optuna only takes plain scalars as categories."""
    return param.choices.index(value) if param.kind == "choice" else value


def params_of(space: SearchSpace, arch: Architecture) -> tuple[dict[str, Any],
                                                               dict[str, BaseDistribution]]:
    params, dists = {}, {}
    for param, index in space.slots(arch):
        value = arch[param.name] if index is None else arch[param.name][index]
        name = slot_name(param, index)
        params[name] = _to_optuna(param, value)
        dists[name] = distribution(param)
    return params, dists


class HistoryStudy:
    """An Optuna study mirroring the scored trials of a history."""

    def __init__(self, directions: list[Direction],
                 values: Callable[[SearchContext, Trial], list[float] | None],
                 attrs: Callable[[SearchContext, Trial], dict[str, Any]] | None = None,
                 ) -> None:
        self.directions = directions
        self.values = values
        self.attrs = attrs
        self._told: list[tuple[int, list[float]]] = []
        self._study: optuna.Study | None = None

    def ask(self, ctx: SearchContext, sampler: optuna.samplers.BaseSampler) -> Architecture:
        scored = [(t, v) for t in ctx.trials if (v := self.values(ctx, t)) is not None]
        told = [(t.index, v) for t, v in scored]
        if self._study is None or told[: len(self._told)] != self._told:
            self._study = optuna.create_study(directions=list(self.directions))
            self._told = []
        study = self._study
        for trial, value in scored[len(self._told):]:
            params, dists = params_of(ctx.space, dict(trial.arch))
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions=dists, values=value,
                user_attrs=self.attrs(ctx, trial) if self.attrs else None))
        self._told = told
        study.sampler = sampler
        asked = study.ask()
        arch = _sample(asked, ctx.space)
        study.tell(asked, state=optuna.trial.TrialState.FAIL)
        return arch


def _sample(trial: optuna.Trial, space: SearchSpace) -> Architecture:
    """One architecture through the trial's suggest API, count parameters first."""
    arch: Architecture = {}
    counts = {p.repeat for p in space.parameters if isinstance(p.repeat, str)}
    for param in sorted(space.parameters, key=lambda p: p.name not in counts):
        if param.repeat is None:
            arch[param.name] = _suggest(trial, param, param.name)
        else:
            arch[param.name] = [_suggest(trial, param, slot_name(param, i))
                                for i in range(space.count(param, arch))]
    return {p.name: arch[p.name] for p in space.parameters}


def _suggest(trial: optuna.Trial, param: Parameter, name: str) -> Any:
    if param.kind == "choice":
        return param.choices[trial.suggest_categorical(name, list(range(len(param.choices))))]
    if param.kind == "int":
        return trial.suggest_int(name, int(param.low), int(param.high), step=param.step)
    return trial.suggest_float(name, param.low, param.high, log=param.log)
