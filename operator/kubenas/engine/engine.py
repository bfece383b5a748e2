"""The decision function at the heart of kubenas: (spec, trials, time) -> what to do next.

Every backend (local processes, Kubernetes, tabular benchmark) calls `Engine.decide` with
the trial records it holds and applies the decision it gets back. The engine does no I/O and
reads no clock: the same inputs give the same decision, which is what makes an operator
restart, or a replayed benchmark seed, continue exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kubenas.api.strategy_settings import STRATEGIES
from kubenas.api.trials import Trial, TrialKind, objective_value, rank_key, trial_name
from kubenas.api.types import Experiment
from kubenas.engine import oneshot, prescreen
from kubenas.engine.digest import Digest
from kubenas.engine.promotion import next_promotion
from kubenas.space.oplist import split
from kubenas.space.space import Architecture, SearchSpace
from kubenas.strategies import SearchContext, make

OutcomePhase = Literal["Succeeded", "Failed"]


@dataclass(frozen=True)
class NewTrial:
    index: int
    arch: Architecture
    budget: float
    rung: int = 0
    parent: int | None = None
    kind: TrialKind = "train"
    request: Mapping[str, Any] | None = None

    def record(self) -> Trial:
        """The Pending trial this decision creates."""
        return Trial(self.index, self.arch, self.budget, self.rung, self.parent,
                     kind=self.kind, request=self.request)


@dataclass(frozen=True)
class Outcome:
    phase: OutcomePhase
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    create: tuple[NewTrial, ...] = ()
    stop: tuple[tuple[int, str], ...] = field(default=())
    outcome: Outcome | None = None


class Engine:
    """Decides for one experiment. Cheap to rebuild whenever the spec changes.

    It owns every cache its decisions use (through its SearchSpace), so they go with it; a
    caller that runs many engines over one space may share a SearchSpace among them.
    """

    def __init__(self, experiment: Experiment, space: SearchSpace | None = None) -> None:
        self.experiment = experiment
        self.space = space if space is not None else SearchSpace(experiment.space)
        self.one_shot = STRATEGIES[experiment.strategy.name].one_shot
        self.strategy = None if self.one_shot else make(experiment.strategy)
        self._ranks: dict[int, tuple[Trial, tuple[int, int, float, int] | None]] = {}
        self._values: dict[int, tuple[Trial, float | None]] = {}
        self._digest = Digest(self._rank, self.key)

    @property
    def levels(self) -> tuple[float, ...]:
        fid = self.experiment.fidelity
        return fid.levels if fid else (self.experiment.max_budget,)

    def decide(self, trials: Sequence[Trial], *, elapsed_s: float = 0.0,
               capacity: int | None = None) -> Decision:
        """What to do now, given every trial so far (in index order) and the time spent.

        `capacity` caps how many trials may be active (for example the free GPUs).
        """
        exp = self.experiment
        self._digest.update(trials)
        outcome = self._outcome(trials, elapsed_s)
        if outcome is not None:
            return Decision(stop=self._stop_active(trials, outcome.reason), outcome=outcome)
        if exp.suspend:
            running = tuple((t.index, "Suspended") for t in trials if t.phase == "Running")
            return Decision(stop=running)
        create, exhausted = self._fill(list(trials), elapsed_s, capacity)
        if create or self._digest.active:
            return Decision(create=tuple(create))
        if len(trials) >= exp.budget.max_trials:
            return Decision(outcome=self._finish(trials, "MaxTrialsReached",
                                                 f"ran all {exp.budget.max_trials} trials"))
        if exhausted and self.one_shot:
            found = oneshot.supernet(trials)
            return Decision(outcome=self._finish(
                trials, "CandidatesRetrained", f"retrained the candidates of supernet trial "
                f"{trial_name(exp.name, found.index)}" if found else "no supernet trial "
                "succeeded"))
        if exhausted:
            return Decision(outcome=self._finish(trials, "SearchSpaceExhausted",
                                                 "the strategy has no untried architecture"))
        return Decision()

    def _outcome(self, trials: Sequence[Trial], elapsed_s: float) -> Outcome | None:
        exp = self.experiment
        failures, last = self._digest.failures, self._digest.last_failed
        if failures > exp.budget.max_failed and last is not None:
            return Outcome("Failed", "MaxFailedTrialsReached",
                           f"{failures} trials failed, more than budget.maxFailedTrials="
                           f"{exp.budget.max_failed}; last: trial {last.index} "
                           f"{last.reason or 'Error'}: {last.message or 'no message'}")
        best = self.best(trials)
        value = objective_value(exp, best) if best else None
        if best is not None and value is not None and exp.objective.goal_reached(value):
            return self._finish(trials, "GoalReached",
                                f"trial {best.index} reached {exp.objective.primary.metric}="
                                f"{value:.4g} (goal {exp.objective.goal})")
        limit = exp.budget.max_duration_s
        if limit is not None and elapsed_s >= limit:
            return self._finish(trials, "MaxDurationReached",
                                f"search ran {elapsed_s:.0f}s of budget.maxDuration={limit:.0f}s")
        return None

    def _finish(self, trials: Sequence[Trial], reason: str, message: str) -> Outcome:
        if self.best(trials) is None:
            return Outcome("Failed", "NoTrialSucceeded", f"{message}, but no trial succeeded")
        return Outcome("Succeeded", reason, message)

    @staticmethod
    def _stop_active(trials: Sequence[Trial], reason: str) -> tuple[tuple[int, str], ...]:
        return tuple((t.index, reason) for t in trials if t.active)

    def best(self, trials: Sequence[Trial]) -> Trial | None:
        """The best succeeded trial by rank_key (feasible, larger budget, objective, age)."""
        self._digest.update(trials)
        return self._digest.best

    def _rank(self, trial: Trial) -> tuple[int, int, float, int] | None:
        """rank_key of a trial with an objective value (else None), remembered per record."""
        known = self._ranks.get(trial.index)
        if known is None or known[0] is not trial:
            rank = (rank_key(self.experiment, trial)
                    if objective_value(self.experiment, trial) is not None else None)
            known = self._ranks[trial.index] = (trial, rank)
        return known[1]

    def key(self, trial: Trial) -> str:
        """The network's identity; memoised by architecture value in the space, never by
        trial index, since a decision not applied may leave an index to another trial. A
        supernet or zerocost trial trains no one network: it is its own identity."""
        if trial.kind != "train":
            return f"{trial.kind}-{trial.index}"
        return self.space.key(dict(trial.arch))

    def _fill(self, trials: list[Trial], elapsed_s: float,
              capacity: int | None) -> tuple[list[NewTrial], bool]:
        exp = self.experiment
        limit = exp.budget.max_parallel if capacity is None else min(exp.budget.max_parallel,
                                                                     capacity)
        free = limit - self._digest.active
        seen = set(self._digest.keys)
        create: list[NewTrial] = []
        while free > 0 and len(trials) < exp.budget.max_trials:
            new = self._next(SearchContext(exp, self.space, trials, len(trials), elapsed_s, seen,
                                           self._values))
            if new is None:
                return create, True
            create.append(new)
            trials.append(new.record())
            seen.add(self.key(trials[-1]))
            free -= 1
        return create, False

    def _next(self, ctx: SearchContext) -> NewTrial | None:
        if self.strategy is None:
            return self._next_one_shot(ctx)
        promotion = next_promotion(ctx)
        if promotion is not None:
            parent = ctx.trials[promotion.parent]
            return NewTrial(ctx.index, dict(parent.arch), self.levels[promotion.rung],
                            promotion.rung, promotion.parent)
        screened = prescreen.next_trial(ctx)
        if screened is not None:
            return self._screened(ctx, screened)
        arch = self.strategy.propose(ctx)
        if arch is None:
            return None
        return NewTrial(ctx.index, arch, self.levels[0])

    def _screened(self, ctx: SearchContext, screened: prescreen.Screened) -> NewTrial:
        if isinstance(screened, prescreen.Screen):
            return NewTrial(ctx.index, dict(split(self.experiment.space).fixed), 1.0,
                            kind="zerocost", request=screened.request)
        return NewTrial(ctx.index, screened.arch, self.levels[0])

    def _next_one_shot(self, ctx: SearchContext) -> NewTrial | None:
        """The supernet trial until one succeeds, then its candidates at the top budget."""
        exp = self.experiment
        found = oneshot.supernet(ctx.trials)
        if found is None:
            if any(t.kind == "supernet" and t.active for t in ctx.trials):
                return None
            return NewTrial(ctx.index, dict(split(exp.space).fixed),
                            float(oneshot.setting(exp, "supernetEpochs")), kind="supernet",
                            request=oneshot.request(exp))
        for arch in oneshot.candidates(exp, found):
            if not ctx.seen(arch):
                return NewTrial(ctx.index, arch, self.levels[-1], rung=len(self.levels) - 1)
        return None
