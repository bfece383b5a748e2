"""Random search: the baseline every other strategy must beat."""

from __future__ import annotations

from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy


class RandomSearch(Strategy):
    name = "random"

    def propose(self, ctx: SearchContext) -> Architecture | None:
        return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
