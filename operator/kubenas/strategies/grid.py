"""Grid search: every network of a finite space, in a fixed (optionally shuffled) order."""

from __future__ import annotations

from typing import Any

import numpy as np

from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy


class GridSearch(Strategy):
    name = "grid"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._grid: list[Architecture] | None = None

    def propose(self, ctx: SearchContext) -> Architecture | None:
        if self._grid is None:  # a pure function of the space and seed: built once
            networks = ctx.space.networks()  # equivalent encodings would be skipped anyway
            grid = networks[0] if networks is not None else list(ctx.space.grid())
            if self.setting("shuffle"):
                seed = ctx.experiment.strategy.seed
                grid = [grid[i] for i in np.random.default_rng(seed).permutation(len(grid))]
            self._grid = grid
        return next((arch for arch in self._grid if not ctx.seen(arch)), None)
