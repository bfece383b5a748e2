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
from kubenas.backends.kubernetes.objects import Obj
from kubenas.backends.kubernetes.timefmt import rfc3339
from kubenas.engine.engine import Outcome
from kubenas.engine.status import counts, summarize

CONDITION_TYPES = ("Ready", "Running", "Succeeded", "Failed", "Suspended")


@dataclass(frozen=True)
class Problem:
    """Why the operator will not act on the spec (Ready=False)."""

    reason: str
    message: str
    fatal: bool  # the experiment cannot run at all (phase Failed), vs. a rejected edit


def phase_of(previous: str | None, trials: Sequence[Trial], outcome: Outcome | None,
             suspended: bool, problem: Problem | None) -> str:
    if problem is not None:
        return "Failed" if problem.fatal else (previous or "Pending")
    if outcome is not None:
        return outcome.phase
    if suspended:
        return "Suspended"
    return "Running" if trials else "Pending"


def _wanted(phase: str, outcome: Outcome | None,
            problem: Problem | None) -> dict[str, tuple[bool, str, str]]:
    done = outcome.reason if outcome else ""
    message = outcome.message if outcome else ""
    ready = (False, problem.reason, problem.message) if problem else (True, "Reconciled", "")
    running = {
        "Pending": (True, "Started", "creating the first trials"),
        "Running": (True, "TrialsRunning", "searching"),
        "Suspended": (False, "Suspended", "spec.suspend is true"),
    }.get(phase, (False, done or (problem.reason if problem else "Stopped"), message))
    failed_reason = problem.reason if problem and problem.fatal else done
    return {
        "Ready": ready,
        "Running": running,
        "Succeeded": (True, done, message) if phase == "Succeeded" else
        (False, "NotCompleted", ""),
        "Failed": (True, failed_reason, message or (problem.message if problem else ""))
        if phase == "Failed" else (False, "NoFailure", ""),
        "Suspended": (True, "SuspendRequested", "spec.suspend is true")
        if phase == "Suspended" else (False, "NotSuspended", ""),
    }


def conditions(previous: Sequence[Obj], phase: str, outcome: Outcome | None,
               problem: Problem | None, generation: int, now: float) -> list[Obj]:
    old = {c.get("type"): c for c in previous}
    out = []
    for kind, (value, reason, message) in _wanted(phase, outcome, problem).items():
        status = "True" if value else "False"
        before = old.get(kind) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        out.append({"type": kind, "status": status, "reason": reason,
                    "message": message[:32000], "lastTransitionTime": since or rfc3339(now),
                    "observedGeneration": generation})
    return out


def build(exp: Experiment | None, manifest: Obj, trials: Sequence[Trial],
          outcome: Outcome | None, problem: Problem | None, now: float) -> Obj:
    """The full status object; `exp` is None when the spec does not parse."""
    previous: Obj = manifest.get("status") or {}
    generation = int(manifest["metadata"].get("generation") or 0)
    suspended = bool(exp.suspend) if exp else False
    phase = phase_of(previous.get("phase"), trials, outcome, suspended, problem)
    status: dict[str, Any] = summarize(exp, trials) if exp else {"trials": counts(trials)}
    status.update(phase=phase, observedGeneration=generation,
                  conditions=conditions(previous.get("conditions") or [], phase, outcome,
                                        problem, generation, now),
                  startTime=previous.get("startTime") or rfc3339(now))
    if exp is not None:
        c = status["trials"]
        status["progress"] = (f"{c['succeeded'] + c['failed'] + c['stopped']}/"
                              f"{exp.budget.max_trials}")
        best = status.get("bestTrial")
        if best and exp.objective.primary.metric in best["metrics"]:
            status["bestValue"] = best["metrics"][exp.objective.primary.metric]
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
