"""Regularized evolution (REA, Real et al. 2019).

The population is the `population` most recently completed architectures, so old members age
out however good they were. A child is a one-slot mutation of the best of `tournamentSize`
members drawn at random. Rebuilding the population from the trial history needs no state.
"""

from __future__ import annotations

from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy


class RegularizedEvolution(Strategy):
    name = "evolution"

    def propose(self, ctx: SearchContext) -> Architecture | None:
        population = ctx.completed(rung=0)[-self.setting("population"):]
        if len(population) < self.setting("population"):
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        size = min(self.setting("tournamentSize"), len(population))

        def child() -> Architecture:
            drawn = ctx.rng.choice(len(population), size=size, replace=False)
            parent = max((population[int(i)] for i in drawn), key=lambda tv: tv[1])[0]
            arch = dict(parent.arch)
            for _ in range(self.setting("mutations")):
                arch = ctx.space.mutate(arch, ctx.rng)
            return arch

        return ctx.fresh(child)
