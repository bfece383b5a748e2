"""ParEGO (`parego`, Knowles 2006): Bayesian optimisation for several objectives.

Each proposal draws a weight vector uniformly from the simplex (from the proposal's own
generator), normalises every objective's observed scores (larger is better) to [0, 1],
and scalarises them with the augmented Chebyshev function; infeasible trials (outside
objective.constraints) rank below every feasible one. With `model: scalar` (Knowles's
original) the Gaussian process of `bo` is fitted to the normal scores of the scalarised
values; with `model: composite` (the default; it reached a higher hypervolume on NB201) one
such GP is fitted per objective (normal scores of each), and the scalarised improvement over
the best observed value is averaged over joint samples of their posteriors. The untried
architecture (by `space.key`) with the largest expected improvement is proposed, out of the
one-slot neighbourhood of the current Pareto set plus the distinct networks of a small
finite space (random samples of a large one). Metrics known only after a run (e.g.
latency) are treated as observed values like any other. Everything is rebuilt from the
history on each call.
"""

from __future__ import annotations

import numpy as np

from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy
from kubenas.strategies.bo import SHORTLIST, BayesianOptimisation, candidate_pool
from kubenas.strategies.features import stack
from kubenas.strategies.nsga2 import fronts, points, violation
from kubenas.strategies.surrogate import GP, expected_improvement, normal_scores

SAMPLES = 64


class ParEGO(Strategy):
    name = "parego"

    def propose(self, ctx: SearchContext) -> Architecture | None:
        scored = [(t, p) for t, _ in ctx.completed(rung=0)
                  if (p := points(ctx.experiment, t)) is not None]
        if len(scored) < self.setting("initial"):
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        pts = np.array([p for _, p in scored], dtype=float)
        bad = np.array([violation(ctx.experiment, t) for t, _ in scored]) > 0
        weights = ctx.rng.dirichlet(np.full(pts.shape[1], float(self.setting("alpha"))))
        values = scalarise(pts, weights, float(self.setting("rho")))
        values[bad] -= 1e9
        z = normal_scores(values)
        done = [(t, float(v)) for (t, _), v in zip(scored, values, strict=True)]
        view = BayesianOptimisation._view(ctx, done)
        feasible = np.flatnonzero(~bad)
        first = feasible[fronts(pts[feasible])[0]] if len(feasible) else np.array([], int)
        parents = [scored[int(i)][0] for i in first]
        parents.append(max(done, key=lambda tv: (tv[1], -tv[0].index))[0])
        pool, x = self._pool(ctx, parents, view)
        if not pool:
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        xs = stack(ctx.space, [dict(t.arch) for t, _ in done])[view]
        if self.setting("model") == "composite":
            return self._composite(ctx, pool, x, xs, pts, bad, weights)
        gp = GP.fit(xs, z)
        if len(pool) > SHORTLIST:  # the variance costs n^2 per candidate: shortlist by mean
            keep = np.sort(np.argsort(-gp.mean(x), kind="stable")[:SHORTLIST])
            pool, x = [pool[int(i)] for i in keep], x[keep]
        mu, sigma = gp.predict(x)
        return pool[int(np.argmax(expected_improvement(mu, sigma, float(z.max()))))]

    def _composite(self, ctx: SearchContext, pool: list[Architecture], x: np.ndarray,
                   xs: np.ndarray, pts: np.ndarray, bad: np.ndarray,
                   weights: np.ndarray) -> Architecture:
        """The candidate of largest mean scalarised improvement, objectives in normal-score
        space scaled to [0, 1] over the history, from SAMPLES posterior draws."""
        rho = float(self.setting("rho"))
        m = pts.shape[1]
        zs = np.stack([normal_scores(pts[:, k]) for k in range(m)], axis=1)
        gps = [GP.fit(xs, zs[:, k]) for k in range(m)]
        if len(pool) > SHORTLIST:
            score = sum(weights[k] * gps[k].mean(x) for k in range(m))
            keep = np.sort(np.argsort(-score, kind="stable")[:SHORTLIST])
            pool, x = [pool[int(i)] for i in keep], x[keep]
        preds = [g.predict(x) for g in gps]
        low, high = zs.min(axis=0), zs.max(axis=0)
        span = np.where(high > low, high - low, 1.0)
        ok = zs[~bad] if (~bad).any() else zs
        best = float((-chebyshev(weights * (high - ok) / span, rho)).max())
        eps = ctx.rng.standard_normal((SAMPLES, 1, m))
        mu = np.stack([p[0] for p in preds], axis=1)[None]
        sd = np.stack([p[1] for p in preds], axis=1)[None]
        y = mu + sd * eps  # samples x candidates x objectives
        value = -chebyshev(weights * (high - y) / span, rho)
        gain = np.maximum(value - best, 0.0).mean(axis=0)
        return pool[int(np.argmax(gain))]

    def _pool(self, ctx: SearchContext, parents: list,
              view: int) -> tuple[list[Architecture], np.ndarray]:
        return candidate_pool(ctx, parents, self.setting("samples"), view)


def scalarise(pts: np.ndarray, weights: np.ndarray, rho: float) -> np.ndarray:
    """Augmented Chebyshev value of each row (objectives larger-better), larger is better:
    -(max_k w_k d_k + rho sum_k w_k d_k) with d_k the distance to the best observed score
    after scaling each objective to [0, 1] over the history."""
    low, high = pts.min(axis=0), pts.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return -chebyshev(weights * (high - pts) / span, rho)


def chebyshev(gap: np.ndarray, rho: float) -> np.ndarray:
    """max_k gap_k + rho sum_k gap_k over the last axis."""
    return gap.max(axis=-1) + rho * gap.sum(axis=-1)
