"""Asynchronous successive halving (ASHA, Li et al. 2020) as a promotion rule.

Whenever a slot frees up, promote a trial that ranks in the top 1/eta of its rung's completed
trials and has not been promoted yet, checking the highest rung first; otherwise the slot goes
to a new architecture at the lowest budget. Nothing waits for a rung to fill, so workers
never idle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubenas.strategies.base import Promotion, SearchContext


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
    from kubenas.strategies.base import Promotion

    for rung in reversed(range(len(ctx.levels) - 1)):
        ready = promotable(ctx, rung)
        if ready:
            return Promotion(parent=ready[0], rung=rung + 1)
    return None
