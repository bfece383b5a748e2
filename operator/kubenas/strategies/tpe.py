"""Tree-structured Parzen estimator (`tpe`): Optuna's TPESampler over the trial history.

The study mirrors every succeeded trial (all rungs: a promoted trial's score is the
better-informed one) and is asked for one architecture with a sampler seeded from the
proposal's rng. TPE can propose an architecture that was already tried, or an encoding
equivalent to one; then an untried one-slot mutation of it (or a random sample) replaces it.
"""

from __future__ import annotations

from typing import Any

import optuna

from kubenas.api.trials import Trial
from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy
from kubenas.strategies.optuna_bridge import HistoryStudy


class TPE(Strategy):
    name = "tpe"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._study = HistoryStudy(["maximize"], _score)

    def propose(self, ctx: SearchContext) -> Architecture | None:
        sampler = optuna.samplers.TPESampler(
            seed=int(ctx.rng.integers(2**31)), n_startup_trials=self.setting("startupTrials"),
            n_ei_candidates=self.setting("candidates"),
            multivariate=self.setting("multivariate"))
        arch = self._study.ask(ctx, sampler)
        if not ctx.seen(arch):
            return arch
        return ctx.fresh(lambda: ctx.space.mutate(arch, ctx.rng))


def _score(ctx: SearchContext, trial: Trial) -> list[float] | None:
    value = ctx.value(trial)
    return None if value is None else [value]
