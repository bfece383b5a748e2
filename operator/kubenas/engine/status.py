"""The bounded summary of an experiment's trials that goes into its status.

The size is fixed whatever the number of trials: counts, one best trial, a top-10
leaderboard and a capped Pareto front. That keeps the NASExperiment object far below etcd's
object size limit at 10,000 trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubenas.api.trials import Trial, objective_value, rank_key, trial_name
from kubenas.api.types import Experiment
from kubenas.engine import oneshot, prescreen
from kubenas.engine.pareto import front
from kubenas.space.space import SearchSpace

LEADERBOARD_SIZE = 10
PARETO_LIMIT = 32


def counts(trials: Sequence[Trial]) -> dict[str, int]:
    out = {"total": len(trials), "pending": 0, "running": 0, "succeeded": 0, "failed": 0,
           "stopped": 0}
    for t in trials:
        out[t.phase.lower()] += 1
    return out


def trial_summary(exp: Experiment, trial: Trial, *, with_arch: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"name": trial_name(exp.name, trial.index), "budget": trial.budget,
                           "metrics": {k: _number(v) for k, v in sorted(trial.metrics.items())}}
    if with_arch:
        out["architecture"] = dict(trial.arch)
    return out


def _number(value: float) -> float:
    return round(float(value), 6)


def ranked(exp: Experiment, trials: Sequence[Trial],
           space: SearchSpace | None = None) -> list[Trial]:
    """Succeeded trials, best first, one per distinct network (pass the engine's space to
    reuse its cached keys)."""
    space = space or SearchSpace(exp.space)
    done = sorted((t for t in trials if objective_value(exp, t) is not None),
                  key=lambda t: rank_key(exp, t))
    seen: set[str] = set()
    out = []
    for t in done:
        key = space.key(dict(t.arch))
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def pareto(exp: Experiment, trials: Sequence[Trial],
           space: SearchSpace | None = None) -> list[Trial]:
    """Non-dominated feasible trials over all objectives, best primary first."""
    candidates = [t for t in ranked(exp, trials, space) if exp.objective.feasible(dict(t.metrics))
                  and all(o.metric in t.metrics for o in exp.objective.all)]
    points = [[o.score(float(t.metrics[o.metric])) for o in exp.objective.all]
              for t in candidates]
    members = [candidates[i] for i in front(points)]
    return sorted(members, key=lambda t: rank_key(exp, t))[:PARETO_LIMIT]


def summarize(exp: Experiment, trials: Sequence[Trial],
              space: SearchSpace | None = None) -> dict[str, Any]:
    """The strategy in use (defaults resolved), counts, bestTrial, leaderboard and (for
    several objectives) paretoFront."""
    space = space or SearchSpace(exp.space)
    board = ranked(exp, trials, space)
    out: dict[str, Any] = {"strategy": exp.strategy.name, "trials": counts(trials)}
    if board:
        out["bestTrial"] = trial_summary(exp, board[0])
        out["leaderboard"] = [trial_summary(exp, t) for t in board[:LEADERBOARD_SIZE]]
    if exp.objective.multi:
        out["paretoFront"] = [trial_summary(exp, t) for t in pareto(exp, trials, space)]
    one_shot = oneshot.summary(exp, trials)
    if one_shot is not None:
        out["oneShot"] = one_shot
    zero_cost = prescreen.summary(exp, trials, exp.name)
    if zero_cost is not None:
        out["zeroCost"] = zero_cost
    return out
