"""Bayesian optimisation for architectures (`bo`): kubenas's default strategy.

A Gaussian process (see `surrogate`) models the normal scores of the objective at the
lowest fidelity from every completed trial there, with length scale and noise chosen by
marginal likelihood. Feature views (see `features`: one-hot slots, and cell paths for DAG
cells) take turns from one proposal to the next, so neither view's blind spots trap the
search in a local optimum. Expected improvement is then
maximised over a pool of untried architectures (by `space.key`): the whole one-slot
neighbourhood of the best few, where good networks cluster, plus either every distinct
network of a small finite space or random samples of a large one. By default (`promotion:
final`, `promoteShare` 0.25) the last stretch of budget.maxDuration promotes the best
candidates to the top fidelity when two promotions fit in a quarter of it; otherwise every
trial stays at the lowest fidelity. Without maxDuration, ASHA promotes (see
docs/decisions/0002-default-strategy.md).
"""

from __future__ import annotations

import numpy as np

from kubenas.api.trials import Trial
from kubenas.space.space import Architecture, SearchSpace
from kubenas.strategies.base import SearchContext, Strategy
from kubenas.strategies.features import stack, views
from kubenas.strategies.surrogate import GP, expected_improvement, normal_scores

UNIVERSE_LIMIT = 50_000
SHORTLIST = 400


class BayesianOptimisation(Strategy):
    name = "bo"

    def propose(self, ctx: SearchContext) -> Architecture | None:
        done = ctx.completed(rung=0)
        if len(done) < self.setting("initial"):
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        view = self._view(ctx, done)
        pool, x = self._pool(ctx, done, view)
        if not pool:
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        z = normal_scores(np.array([v for _, v in done]))
        gp = GP.fit(stack(ctx.space, [dict(t.arch) for t, _ in done])[view], z)
        if len(pool) > SHORTLIST:  # the variance costs n^2 per candidate: shortlist by mean
            keep = np.sort(np.argsort(-gp.mean(x), kind="stable")[:SHORTLIST])
            pool, x = [pool[int(i)] for i in keep], x[keep]
        mu, sigma = gp.predict(x)
        return pool[int(np.argmax(expected_improvement(mu, sigma, float(z.max()))))]

    @staticmethod
    def _view(ctx: SearchContext, done: list) -> int:
        """Views take turns by trial index; a richer view joins once the history has at
        least half as many points as it has features (a GP on far more features than points
        is mostly prior; see docs/decisions/0002-default-strategy.md for the measurements)."""
        widths = [len(v) for v in views(ctx.space, dict(done[0][0].arch))]
        usable = [i for i, w in enumerate(widths) if i == 0 or 2 * len(done) >= w]
        return usable[ctx.index % len(usable)]

    def _pool(self, ctx: SearchContext, done: list,
              view: int) -> tuple[list[Architecture], np.ndarray]:
        ranked = sorted(done, key=lambda tv: (-tv[1], tv[0].index))
        parents = [t for t, _ in ranked[: self.setting("incumbents")]]
        return candidate_pool(ctx, parents, self.setting("samples"), view)


def candidate_pool(ctx: SearchContext, parents: list[Trial], samples: int,
                   view: int) -> tuple[list[Architecture], np.ndarray]:
    """Untried candidates, one per network, with their features in `view`: the neighbours
    of `parents`, plus `samples` draws from the whole space (or random samples of it)."""
    keys = set(ctx.seen_keys)
    pool: list[Architecture] = []
    near = [a for t in parents for a in ctx.space.neighbours(dict(t.arch), ctx.rng)]
    universe = distinct(ctx.space)
    if universe is None:
        near += [ctx.space.sample(ctx.rng) for _ in range(samples)]
    for arch in near:
        key = ctx.key(arch)
        if key not in keys:
            keys.add(key)
            pool.append(arch)
    parts = [stack(ctx.space, pool)[view]] if pool else []
    if universe is not None:
        archs, universe_keys, matrices = universe
        drawn = ctx.rng.choice(len(archs), size=min(samples, len(archs)), replace=False)
        take = [int(i) for i in np.sort(drawn) if universe_keys[int(i)] not in keys]
        pool += [archs[i] for i in take]
        parts.append(matrices[view][take])
    return pool, (np.concatenate(parts) if parts else np.empty((0, 0)))


Universe = tuple[list[Architecture], list[str], list[np.ndarray]]


def distinct(space: SearchSpace) -> Universe | None:
    """`space.networks()` with their feature matrices, for a space of at most UNIVERSE_LIMIT
    encodings (None if larger); built once per SearchSpace."""
    return space.derived("universe", lambda: _universe(space))


def _universe(space: SearchSpace) -> Universe | None:
    networks = space.networks() if space.size <= UNIVERSE_LIMIT else None
    return None if networks is None else (networks[0], networks[1], stack(space, networks[0]))
