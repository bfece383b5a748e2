"""How trials climb fidelity levels: the engine's scheduling policy, separate from proposing.

A strategy proposes architectures; before asking it, the engine checks whether a slot should
rather go to a promotion, by the experiment's `promotion` setting (whose default depends on
the strategy, see `kubenas.api.strategy_settings`):

- `asha`: asynchronous successive halving (Li et al. 2020). Promote a trial that ranks in the
  top 1/eta of its rung's completed trials and has not been promoted yet, highest rung first;
  nothing waits for a rung to fill, so workers never idle.
- `final`: search at the lowest budget, then settle the winner high. When only enough time is
  left to promote the best `promoteCandidates` architectures to the top budget, promote them,
  best first; the returned best is then the one with the best top-budget score. The reserve
  is estimated from the candidates' own low-budget durations scaled by the budget ratio (a
  promotion resumes, paying only the extra budget), and capped at `promoteShare` of
  `budget.maxDuration`: when fewer than two promotions fit in that share, comparing them
  could not change the answer, so the search stays at the lowest budget to the end. Without
  `budget.maxDuration` or without trial timings the rule falls back to ASHA.
- `none`: every trial stays at the lowest budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubenas.api import strategy_settings
from kubenas.api.trials import Trial
from kubenas.strategies.base import SearchContext


@dataclass(frozen=True)
class Promotion:
    """Run the architecture of trial `parent` again at rung `rung`, resuming from it."""

    parent: int
    rung: int


def next_promotion(ctx: SearchContext) -> Promotion | None:
    """The promotion the experiment's policy makes now, if any."""
    rule = _setting(ctx, "promotion")
    if rule == "none":
        return None
    if rule == "final":
        return final_promotion(ctx, int(_setting(ctx, "promoteCandidates")),
                               float(_setting(ctx, "promoteShare")))
    return asha_promotion(ctx)


def _setting(ctx: SearchContext, name: str) -> Any:
    strategy = ctx.experiment.strategy
    return strategy_settings.value(strategy.name, strategy.settings, name)


def promotable(ctx: SearchContext, rung: int) -> list[int]:
    """Indices of trials at `rung` that ASHA would promote now, best first."""
    fid = ctx.experiment.fidelity
    if fid is None or rung >= len(fid.levels) - 1:
        return []
    done = sorted(ctx.completed(rung), key=lambda tv: (-tv[1], tv[0].index))
    promoted = {t.parent for t in ctx.trials if t.parent is not None}
    top = done[: len(done) // fid.reduction_factor]
    return [t.index for t, _ in top if t.index not in promoted]


def asha_promotion(ctx: SearchContext) -> Promotion | None:
    for rung in reversed(range(len(ctx.levels) - 1)):
        ready = promotable(ctx, rung)
        if ready:
            return Promotion(parent=ready[0], rung=rung + 1)
    return None


def final_promotion(ctx: SearchContext, candidates: int, share: float) -> Promotion | None:
    limit = ctx.experiment.budget.max_duration_s
    levels = ctx.levels
    if len(levels) < 2:
        return None
    done = ctx.completed(0)
    if limit is None or any(t.started_at is None or t.finished_at is None for t, _ in done):
        return asha_promotion(ctx)
    top = len(levels) - 1
    ratio = (levels[top] - levels[0]) / levels[0]
    promoted = {t.parent for t in ctx.trials if t.parent is not None}
    queue = [t for t, _ in sorted(done, key=lambda tv: (-tv[1], tv[0].index))
             if t.index not in promoted]
    if not queue:
        return None
    remaining = limit - ctx.elapsed_s
    if promoted:  # the final phase has begun: carry on while the next one fits
        nxt = queue[0]
        return Promotion(nxt.index, top) if _cost(nxt, ratio) <= remaining else None
    plan = _plan([_cost(t, ratio) for t in queue[:candidates]], share * limit)
    if len(plan) < 2:
        return None
    slack = max(_duration(t) for t, _ in done)  # one more low-budget trial may still fit
    return Promotion(queue[0].index, top) if remaining <= sum(plan) + slack else None


def _plan(costs: list[float], cap: float) -> list[float]:
    """The leading promotions that fit within the cap together."""
    out: list[float] = []
    for c in costs:
        if sum(out) + c > cap:
            break
        out.append(c)
    return out


def _duration(trial: Trial) -> float:
    assert trial.started_at is not None and trial.finished_at is not None
    return trial.finished_at - trial.started_at


def _cost(trial: Trial, ratio: float) -> float:
    return _duration(trial) * ratio
