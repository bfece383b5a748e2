"""The NASExperiment status: the engine's bounded summary plus phase and conditions.

Built from the previous status so that a condition keeps its lastTransitionTime while its
status stays the same (kstatus and `kubectl wait` rely on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import export_dir
from kubenas.backends.kubernetes.objects import Obj
from kubenas.backends.kubernetes.timefmt import rfc3339
from kubenas.engine.engine import Outcome
from kubenas.engine.status import counts, summarize
from kubenas.space.space import SearchSpace

CONDITION_TYPES = ("Ready", "Reconciling", "Stalled", "Succeeded", "Failed", "Suspended")


@dataclass(frozen=True)
class Problem:
    """Why the operator will not (or cannot) go on with the spec.

    Fatal problems fail the experiment. The others stall it until a person acts (an edit
    refused, the API refusing to create trials or pods): trials already running go on, the
    phase stays, and `Stalled` says why.
    """

    reason: str
    message: str
    fatal: bool


Wanted = dict[str, tuple[bool, str, str]]


def phase_of(previous: str | None, trials: Sequence[Trial], outcome: Outcome | None,
             suspended: bool, problem: Problem | None) -> str:
    if problem is not None and problem.fatal:
        return "Failed"
    if outcome is not None:
        return outcome.phase
    if suspended:
        return "Suspended"
    return "Running" if trials else "Pending"


def _wanted(phase: str, outcome: Outcome | None, problem: Problem | None,
            progress: str) -> Wanted:
    """kstatus polarity (docs/gitops.md): Ready only on success; Reconciling while the
    search makes progress; Stalled when it failed or waits for a person."""
    stalled = problem if problem is not None and not problem.fatal else None
    end = (problem.reason, problem.message) if problem is not None and problem.fatal else \
        (outcome.reason, outcome.message) if outcome is not None else ("", "")
    if phase == "Succeeded":
        ready, reconciling = (True, *end), (False, "Completed", "the search finished")
    elif phase == "Failed":
        ready = reconciling = (False, *end)
    elif phase == "Suspended":
        ready = reconciling = (False, "Suspended", "spec.suspend is true")
    elif stalled is not None:
        ready = reconciling = (False, stalled.reason, stalled.message)
    else:
        reason = "Searching" if phase == "Running" else "Starting"
        ready, reconciling = (False, reason, progress), (True, reason, progress)
    if phase == "Failed":
        stall = (True, *end)
    elif stalled is not None:
        stall = (True, stalled.reason, stalled.message)
    else:
        stall = (False, "Progressing" if phase in ("Pending", "Running") else "NotStalled", "")
    return {
        "Ready": ready,
        "Reconciling": reconciling,
        "Stalled": stall,
        "Succeeded": (True, *end) if phase == "Succeeded" else (False, "NotFinished", ""),
        "Failed": (True, *end) if phase == "Failed" else (False, "NoFailure", ""),
        "Suspended": (True, "SuspendRequested", "spec.suspend is true")
        if phase == "Suspended" else (False, "NotSuspended", ""),
    }


def conditions(previous: Sequence[Obj], wanted: Wanted, generation: int,
               now: float) -> list[Obj]:
    old = {c.get("type"): c for c in previous}
    out = []
    for kind, (value, reason, message) in wanted.items():
        status = "True" if value else "False"
        before = old.get(kind) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        out.append({"type": kind, "status": status, "reason": reason or "Unknown",
                    "message": message[:32000], "lastTransitionTime": since or rfc3339(now),
                    "observedGeneration": generation})
    return out


def build(exp: Experiment | None, manifest: Obj, trials: Sequence[Trial],
          outcome: Outcome | None, problem: Problem | None, now: float,
          space: SearchSpace | None = None) -> Obj:
    """The full status object; `exp` is None when the spec does not parse."""
    previous: Obj = manifest.get("status") or {}
    generation = int(manifest["metadata"].get("generation") or 0)
    suspended = bool(exp.suspend) if exp else False
    phase = phase_of(previous.get("phase"), trials, outcome, suspended, problem)
    status: dict[str, Any] = summarize(exp, trials, space) if exp else \
        {"trials": counts(trials)}
    c = status["trials"]
    done = c["succeeded"] + c["failed"] + c["stopped"]
    total = exp.budget.max_trials if exp else 0
    message = f"{c['running']} running, {done} of {total} trials done" if exp else ""
    status.update(phase=phase, observedGeneration=generation,
                  conditions=conditions(previous.get("conditions") or [],
                                        _wanted(phase, outcome, problem, message),
                                        generation, now),
                  startTime=previous.get("startTime") or rfc3339(now))
    if exp is not None:
        status["progress"] = f"{done}/{total}"
        best = status.get("bestTrial")
        if best and exp.objective.primary.metric in best["metrics"]:
            status["bestValue"] = best["metrics"][exp.objective.primary.metric]
        if best and exp.export.dir:
            status["bestModel"] = export_dir(exp, best["name"])
    if phase in ("Succeeded", "Failed"):
        status["completionTime"] = previous.get("completionTime") or rfc3339(now)
    return status


def merge_patch(old: Obj, new: Obj) -> Obj:
    """The JSON merge patch (RFC 7386) that turns `old` into `new`; None removes a key."""
    patch: Obj = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            inner = merge_patch(before, value)
            if inner:
                patch[key] = inner
        elif before != value or key not in old:
            patch[key] = value
    patch.update({k: None for k in old if k not in new})
    return {k: v for k, v in patch.items() if not (v is None and k not in old)}
