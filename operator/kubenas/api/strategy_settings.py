"""The strategies a NASExperiment can name, and the settings each one takes.

This is part of the manifest's vocabulary, so it lives with the schema: the validator and
the CRD check `spec.strategy.settings` from it, and each strategy (in `kubenas.strategies`)
and the engine's promotion policy read their settings' defaults from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubenas_trainer.catalog import (
    SUPERNET_METHOD_SETTINGS,
    SUPERNET_SETTINGS,
    ZERO_COST_PROXIES,
    Setting,
)

from kubenas.api.builtin_trainer import setting_schema
from kubenas.api.openapi import Schema, array, boolean, integer, number, obj, string
from kubenas.api.validate import FieldError, validate


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    summary: str
    settings: dict[str, Schema]
    single_objective: bool = True
    multi_objective: bool = False
    # The whole search runs in one supernet trial; the engine then retrains its candidates.
    one_shot: bool = False


def promotion_settings(default: str = "asha", share: float = 0.5) -> dict[str, Schema]:
    """How trials climb fidelity levels: the engine's policy, set per strategy."""
    return {
        "promotion": string(
            "How trials reach larger fidelity budgets: asha (successive halving as results "
            "come in), final (low budget first, then the best candidates are promoted to the "
            "top budget when just enough of budget.maxDuration is left), none (every trial "
            "stays at the lowest budget).", enum=("asha", "final", "none"), default=default),
        "promoteCandidates": integer("With promotion final: how many of the best candidates "
                                     "to promote.", minimum=2, default=3),
        "promoteShare": number("With promotion final: the largest share of "
                               "budget.maxDuration the promotions may take.", minimum=0,
                               maximum=1, default=share),
    }


def prescreen_settings() -> dict[str, Schema]:
    """Zero-cost pre-screening (docs/strategies.md): an engine policy, like promotion."""
    return {
        "prescreen": integer("Score this many untrained candidates with zero-cost proxies in "
                             "one trial, then train the best prescreenTop of them first; 0 "
                             "turns pre-screening off.", minimum=0, maximum=100000, default=0),
        "prescreenTop": integer("With prescreen: how many of the best-scored candidates to "
                                "train.", minimum=1, maximum=50, default=10),
        "proxies": array("With prescreen: the zero-cost proxies. Every trained trial also "
                         "reports them (metrics zc_<proxy>), so the guard can check them.",
                         string("A proxy.", enum=ZERO_COST_PROXIES), min_items=1,
                         max_items=len(ZERO_COST_PROXIES), default=list(ZERO_COST_PROXIES)),
        "proxyGuardTrials": integer("With prescreen: trained trials, proposed as usual, whose "
                                    "objective checks each proxy before the screen runs.",
                                    minimum=3, maximum=1000, default=8),
        "minSpearman": number("With prescreen: a proxy whose Spearman rank correlation with the "
                              "objective over the guard trials is below this is dropped.",
                              minimum=-1, maximum=1, default=0.3),
    }


def one_shot_settings(method: str) -> dict[str, Schema]:
    """The supernet trial's budget, how many candidates are retrained, and the method's own
    settings, which go to the trainer in KUBENAS_SUPERNET (typed by its catalog)."""
    own = {s.name: _trainer_setting(s) for s in SUPERNET_SETTINGS
           if s.name in SUPERNET_METHOD_SETTINGS[method]}
    return {
        "supernetEpochs": integer("Epochs the supernet trains for.", minimum=1, maximum=10000,
                                  default=10),
        "retrain": integer("Derived architectures retrained standalone at the top budget; "
                           "the best of them is the result.", minimum=1, maximum=20, default=3),
        **own,
    }


def _trainer_setting(setting: Setting) -> Schema:
    description = setting.description.split(": ", 1)[-1]  # drop the "darts, drnas:" prefix
    return setting_schema(setting, description[0].upper() + description[1:])


_POPULATION = "Architectures in the population."
STRATEGIES: dict[str, StrategyInfo] = {s.name: s for s in (
    StrategyInfo("random", "uniform random search",
                 {**promotion_settings(), **prescreen_settings()}, multi_objective=True),
    StrategyInfo("grid", "every network of a finite space", {
        **promotion_settings(),
        "shuffle": boolean("Visit the grid in a seeded random order instead of in order.",
                           default=False)}),
    StrategyInfo("evolution", "regularized evolution (REA)", {
        **promotion_settings(), **prescreen_settings(),
        "population": integer(_POPULATION, minimum=2, default=10),
        "tournamentSize": integer("Members drawn for each tournament.", minimum=1, default=3),
        "mutations": integer("Slots changed per child.", minimum=1, default=1)}),
    StrategyInfo("tpe", "Optuna's tree-structured Parzen estimator", {
        **promotion_settings(), **prescreen_settings(),
        "startupTrials": integer("Random architectures before TPE models the history.",
                                 minimum=1, default=10),
        "candidates": integer("Candidates TPE scores per proposal (n_ei_candidates).",
                              minimum=1, default=24),
        "multivariate": boolean("Model the parameters jointly rather than one by one.",
                                default=True)}),
    StrategyInfo("reinforce", "a REINFORCE policy-gradient controller", {
        **promotion_settings(), **prescreen_settings(),
        "learningRate": number("Step size of each policy update.", minimum=0,
                               exclusive_minimum=True, default=0.5),
        "baselineDecay": number("Weight of the past in the moving-average baseline.",
                                minimum=0, maximum=1, default=0.9)}),
    StrategyInfo("bo", "Bayesian optimisation with a Gaussian process", {
        **promotion_settings("final", share=0.25), **prescreen_settings(),
        "initial": integer("Random architectures before the model takes over.", minimum=2,
                           default=5),
        "incumbents": integer("Best architectures whose whole one-slot neighbourhood joins "
                              "the acquisition pool.", minimum=1, default=2),
        "samples": integer("Random architectures added to the acquisition pool.", minimum=0,
                           default=1000)}),
    StrategyInfo("nsga2", "NSGA-II, multi-objective evolution", {
        **promotion_settings("none"),
        "population": integer(_POPULATION, minimum=2, default=20),
        "crossoverProb": number("Chance that a child is a crossover of two parents rather "
                                "than a copy of one.", minimum=0, maximum=1, default=0.9)},
        single_objective=False, multi_objective=True),
    StrategyInfo("parego", "ParEGO, multi-objective Bayesian optimisation", {
        **promotion_settings("none"),
        "initial": integer("Random architectures before the model takes over.", minimum=2,
                           default=8),
        "samples": integer("Random architectures added to the acquisition pool.", minimum=0,
                           default=1000),
        "model": string("scalar: one GP of the scalarised values (ParEGO); composite: one GP "
                        "per objective, scalarised by sampling their posteriors.",
                        enum=("scalar", "composite"), default="composite"),
        "alpha": number("Dirichlet concentration of the weight vectors.", minimum=0.01,
                        default=1.0),
        "rho": number("Weight of the linear term of the augmented Chebyshev function.",
                      minimum=0, default=0.05)},
        single_objective=False, multi_objective=True),
    StrategyInfo("darts", "first-order DARTS: a differentiable supernet in one trial",
                 one_shot_settings("darts"), one_shot=True),
    StrategyInfo("drnas", "DrNAS: DARTS with Dirichlet-distributed operation weights",
                 one_shot_settings("drnas"), one_shot=True),
    StrategyInfo("spos", "single-path one-shot: uniform path sampling, then evolution over "
                 "the shared weights", one_shot_settings("spos"), one_shot=True),
)}
NAMES = tuple(STRATEGIES)
ONE_SHOT = tuple(s.name for s in STRATEGIES.values() if s.one_shot)
DEFAULT_STRATEGY = "bo"
DEFAULT_MULTI_STRATEGY = "parego"  # a default that ignores objective.additional would surprise


def default(strategy: str, setting: str) -> Any:
    return STRATEGIES[strategy].settings[setting].get("default")


def value(strategy: str, settings: Mapping[str, Any], setting: str) -> Any:
    """A setting as the search runs it: the manifest's value, else the strategy's default."""
    return settings.get(setting, default(strategy, setting))


def errors(strategy: str, settings: dict[str, Any],
           path: str = "spec.strategy.settings") -> list[FieldError]:
    """Problems of settings for one strategy, as its own schema sees them."""
    info = STRATEGIES.get(strategy)
    if info is None:
        return [FieldError("spec.strategy.name", f"unsupported value {strategy!r}; valid "
                                                 f"values: {', '.join(NAMES)}")]
    _, found = validate(obj(f"Settings of {strategy}.", info.settings), settings, path)
    return found


def union_schema() -> Schema:
    """Every setting of every strategy, typed, without defaults (which differ by strategy):
    the CRD's `spec.strategy.settings`. Which strategies take which setting is a rule."""
    fields: dict[str, Schema] = {}
    for info in STRATEGIES.values():
        for name, schema in info.settings.items():
            plain = {k: v for k, v in schema.items() if k not in ("default", "description")}
            known = fields.get(name)
            if known is not None and {k: v for k, v in known.items()
                                      if k != "description"} != plain:
                raise ValueError(f"setting {name} differs in type or bounds between strategies")
            takers = [s.name for s in STRATEGIES.values() if name in s.settings]
            fields[name] = {**plain, "description": f"{schema['description']} "
                            f"({', '.join(takers)})"}
    return obj("Strategy settings; each applies to the strategies named after it. Defaults "
               "depend on the strategy: see docs/strategies.md.", fields)


def takers(setting: str) -> list[str]:
    return [s.name for s in STRATEGIES.values() if setting in s.settings]
