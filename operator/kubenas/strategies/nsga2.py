"""NSGA-II (`nsga2`, Deb et al. 2002) for multi-objective, hardware-aware search.

A steady-state form rebuilt from the history: the population is the best `population`
completed architectures by constrained non-dominated rank (feasible before infeasible, the
latter by total violation of objective.constraints) and then crowding distance; each child
is a crossover of two binary-tournament winners followed by a one-slot mutation. Every
objective of the experiment counts, each in its own direction.
"""

from __future__ import annotations

import numpy as np

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.space.space import Architecture
from kubenas.strategies.base import SearchContext, Strategy


class NSGA2(Strategy):
    name = "nsga2"

    def propose(self, ctx: SearchContext) -> Architecture | None:
        scored = [(t, p) for t, _ in ctx.completed(rung=None)
                  if (p := points(ctx.experiment, t)) is not None]
        size = self.setting("population")
        if len(scored) < size:
            return ctx.fresh(lambda: ctx.space.sample(ctx.rng))
        order = survival_order(np.array([p for _, p in scored]),
                               np.array([violation(ctx.experiment, t) for t, _ in scored]))
        population = [scored[i][0] for i in order[:size]]  # best first

        def child() -> Architecture:
            a = population[min(ctx.rng.choice(size, 2, replace=False))]
            if ctx.rng.random() < self.setting("crossoverProb"):
                b = population[min(ctx.rng.choice(size, 2, replace=False))]
                arch = ctx.space.crossover(dict(a.arch), dict(b.arch), ctx.rng)
            else:
                arch = dict(a.arch)
            return ctx.space.mutate(arch, ctx.rng)

        return ctx.fresh(child)


def points(exp: Experiment, trial: Trial) -> list[float] | None:
    """A trial's objectives, each turned so that larger is better (None if one is missing)."""
    if any(o.metric not in trial.metrics for o in exp.objective.all):
        return None
    return [o.score(float(trial.metrics[o.metric])) for o in exp.objective.all]


def violation(exp: Experiment, trial: Trial) -> float:
    """How far a trial lies outside objective.constraints (0 when feasible)."""
    total = 0.0
    for c in exp.objective.constraints:
        value = trial.metrics.get(c.metric)
        if value is None:
            total += 1.0
            continue
        if c.max is not None:
            total += max(0.0, float(value) - c.max)
        if c.min is not None:
            total += max(0.0, c.min - float(value))
    return total


def survival_order(pts: np.ndarray, violations: np.ndarray) -> list[int]:
    """Indices best first: feasible by (front, -crowding), then infeasible by violation."""
    feasible = np.flatnonzero(violations <= 0)
    infeasible = np.flatnonzero(violations > 0)
    order: list[int] = []
    for front in fronts(pts[feasible]):
        members = feasible[front]
        crowd = crowding(pts[members])
        order.extend(int(members[i]) for i in np.lexsort((members, -crowd)))
    order.extend(int(i) for i in infeasible[np.lexsort((infeasible, violations[infeasible]))])
    return order


def fronts(pts: np.ndarray) -> list[np.ndarray]:
    """Non-dominated sorting (maximisation): index arrays, first front first."""
    if len(pts) == 0:
        return []
    ge = (pts[:, None, :] >= pts[None, :, :]).all(axis=2)
    gt = (pts[:, None, :] > pts[None, :, :]).any(axis=2)
    dominates: np.ndarray = np.asarray(ge & gt)
    dominated_by = dominates.sum(axis=0)  # how many points dominate each point
    out = []
    remaining = np.ones(len(pts), dtype=bool)
    while remaining.any():
        front = np.flatnonzero(remaining & (dominated_by == 0))
        out.append(front)
        remaining[front] = False
        dominated_by = dominated_by - dominates[front].sum(axis=0)
        dominated_by[~remaining] = -1
    return out


def crowding(pts: np.ndarray) -> np.ndarray:
    """Crowding distance within one front; the extremes get infinity."""
    n, m = pts.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(pts[:, k], kind="stable")
        span = pts[order[-1], k] - pts[order[0], k]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (pts[order[2:], k] - pts[order[:-2], k]) / span
    return dist
