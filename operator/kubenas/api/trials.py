"""Trial records: the typed view of a NASTrial, whatever backend ran it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kubenas.api.types import Experiment

TrialPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Stopped"]
# train: one architecture trained standalone (the only kind with an objective value);
# supernet: a one-shot search in one trial; zerocost: proxies of many untrained candidates.
TrialKind = Literal["train", "supernet", "zerocost"]
KINDS: tuple[TrialKind, ...] = ("train", "supernet", "zerocost")
ACTIVE: tuple[TrialPhase, ...] = ("Pending", "Running")
DONE: tuple[TrialPhase, ...] = ("Succeeded", "Failed", "Stopped")


@dataclass(frozen=True)
class Trial:
    """One training run of one architecture at one budget.

    A promotion to a larger budget is a new trial whose `parent` is the trial it resumes
    from, so every trial keeps a fixed budget and a deterministic name. A supernet or
    zerocost trial holds only the space's fixed parameters in `arch`, what it is asked in
    `request`, and what it found (derived architectures, proxy scores) in `derived`.
    """

    index: int
    arch: Mapping[str, Any]
    budget: float
    rung: int = 0
    parent: int | None = None
    phase: TrialPhase = "Pending"
    metrics: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None
    message: str | None = None
    curve: tuple[float, ...] = ()
    attempt: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    kind: TrialKind = "train"
    request: Mapping[str, Any] | None = None  # KUBENAS_SUPERNET or KUBENAS_ZEROCOST
    derived: Mapping[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    def with_(self, **changes: Any) -> Trial:
        return replace(self, **changes)


def trial_name(experiment: str, index: int) -> str:
    return f"{experiment}-{index}"


def objective_value(exp: Experiment, trial: Trial) -> float | None:
    """The primary objective of a succeeded standalone training, or None: a supernet's
    shared-weight accuracy is a search score, not a result to rank."""
    if trial.phase != "Succeeded" or trial.kind != "train":
        return None
    value = trial.metrics.get(exp.objective.primary.metric)
    return None if value is None else float(value)


def rank_key(exp: Experiment, trial: Trial) -> tuple[int, int, float, int]:
    """Sort key, best first: feasible, then larger budget, then objective, then age.

    A larger budget wins over a better low-budget value: partial-training scores are biased
    estimates, and a trial that survived promotion has the more trustworthy number.
    """
    value = objective_value(exp, trial)
    score = exp.objective.primary.score(value) if value is not None else float("-inf")
    feasible = exp.objective.feasible(dict(trial.metrics))
    return (-int(feasible), -trial.rung, -score, trial.index)
