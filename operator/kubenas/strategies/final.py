"""Budget-aware final promotion: search at the lowest budget, then settle the winner high.

Low-fidelity scores rank architectures roughly; near the top the ranking is noisy. So a
search first spends its time at the lowest budget, and when only enough time is left to
promote its best `promoteCandidates` architectures to the top budget, it promotes them (best
first); the returned best is then the one with the best top-budget score. The reserve is
estimated from the candidates' own low-budget durations scaled by the budget ratio (a
promotion resumes, paying only the extra budget), and capped at `promoteShare` of
`budget.maxDuration`: when fewer than two promotions fit in that share, comparing them
could not change the answer, so the search stays at the lowest budget to the end.
Without `budget.maxDuration` or without trial timings the rule falls back to ASHA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubenas.engine.asha import asha_promotion

if TYPE_CHECKING:
    from kubenas.engine.trials import Trial
    from kubenas.strategies.base import Promotion, SearchContext


def final_promotion(ctx: SearchContext, candidates: int, share: float) -> Promotion | None:
    from kubenas.strategies.base import Promotion

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

