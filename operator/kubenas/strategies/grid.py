"""Grid search: every architecture of a finite space, in a fixed (optionally shuffled) order."""

from __future__ import annotations

import numpy as np

from kubenas.api.schema import boolean
from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy


class GridSearch(Strategy):
    name = "grid"
    settings_schema = {
        "shuffle": boolean("Visit the grid in a seeded random order instead of in order.",
                           default=False),
    }

    def propose(self, ctx: SearchContext) -> Architecture | None:
        grid = list(ctx.space.grid())
        if self.setting("shuffle"):
            order = np.random.default_rng(ctx.experiment.strategy.seed).permutation(len(grid))
            grid = [grid[i] for i in order]
        return next((arch for arch in grid if not ctx.seen(arch)), None)
