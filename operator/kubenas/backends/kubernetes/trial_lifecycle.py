"""What a trial's pod says about the trial: a pure function of the pod object.

Failures are told apart because they mean different things to the search:
- trainer errors (exit code != 0, OOMKilled, DeadlineExceeded) are the architecture's or the
  user's fault; they end the trial as Failed and count toward budget.maxFailedTrials;
- infrastructure losses (eviction, preemption, node loss, a pod deleted by someone else)
  say nothing about the architecture; the trial is retried with a new attempt, which
  resumes from its checkpoint, and no failure is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kubenas.api.trials import TrialKind, TrialPhase
from kubenas.api.types import SearchSpaceSpec
from kubenas.backends.contract import BadResult, find_result, interpret
from kubenas.backends.kubernetes.objects import Obj

MESSAGE_LIMIT = 1024
# An infrastructure loss this many times in a row is no longer bad luck.
MAX_ATTEMPTS = 10
INFRA_REASONS = frozenset({"Evicted", "Preempted", "NodeLost", "Shutdown", "NodeShutdown",
                           "Terminated", "UnexpectedAdmissionError"})
# DisruptionTarget condition reasons (Kubernetes >= 1.26): the pod was lost, not wrong.
DISRUPTIONS = frozenset({"PreemptionByScheduler", "PreemptionByKubeScheduler",
                         "DeletionByTaintManager", "EvictionByEvictionAPI", "DeletionByPodGC",
                         "TerminationByKubelet"})


class Expected(NamedTuple):
    """What a succeeded trial's result is read against (`contract.interpret`)."""

    objective: str
    kind: TrialKind = "train"
    space: SearchSpaceSpec | None = None


@dataclass(frozen=True)
class Observation:
    """The trial's state according to its pod. `retry` means: start a new attempt."""

    phase: TrialPhase
    reason: str | None = None
    message: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    curve: tuple[float, ...] = ()
    retry: bool = False
    start_time: str | None = None
    finish_time: str | None = None
    derived: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.phase in ("Succeeded", "Failed")


def observe(pod: Obj | None, *, created: bool, expect: Expected) -> Observation | None:
    """None when there is nothing to learn (no pod yet and none was ever created)."""
    if pod is None:
        if not created:
            return None
        return Observation("Pending", "PodDeleted", "the trial's pod was deleted by someone "
                                                    "else", retry=True)
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    start = status.get("startTime")
    if phase == "Succeeded":
        return _succeeded(_terminated(pod), expect, start)
    if phase == "Failed":
        return _failed(pod, start)
    if pod["metadata"].get("deletionTimestamp"):
        why = _disruption(status) or "PodDeleted"
        return Observation("Pending", why, f"pod {pod['metadata']['name']} is being deleted "
                                           f"({why}); the trial runs again", retry=True)
    if phase == "Running":
        return Observation("Running", start_time=start)
    return Observation("Pending", _unschedulable(status), start_time=None)


JOB_NAME = "batch.kubernetes.io/job-name"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def observe_job(job: Obj | None, job_pods: list[Obj], *, created: bool,
                expect: Expected) -> Observation | None:
    """What an indexed Job says about its trial: its conditions decide, and the pod with
    completion index 0 holds the result."""
    if job is None or job["metadata"].get("deletionTimestamp"):
        return observe(None, created=created, expect=expect) if job is None else \
            Observation("Pending", "JobDeleted", f"job {job['metadata']['name']} is being "
                        "deleted; the trial runs again", retry=True)
    status = job.get("status") or {}
    start = status.get("startTime")
    true = {c.get("type"): c for c in status.get("conditions") or []
            if c.get("status") == "True"}
    first = next((p for p in job_pods if
                  (p["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) == "0"), None)
    if "Complete" in true:
        if first is None:
            return Observation("Failed", "NoResult", "the job completed, but its pod with "
                               "completion index 0 (which reports the result) is gone",
                               start_time=start)
        return _succeeded(_terminated(first), expect, start)
    if "Failed" in true:
        lost = [p for p in job_pods if _disruption(p.get("status") or {})]
        if lost:
            why = _disruption(lost[0].get("status") or {})
            return Observation("Pending", why, f"pod {lost[0]['metadata']['name']} of the "
                               f"trial's job was lost ({why})", retry=True)
        failed = next((p for p in job_pods if (p.get("status") or {}).get("phase") == "Failed"),
                      None)
        reason = true["Failed"].get("reason") or "JobFailed"
        if reason == "DeadlineExceeded":
            return Observation("Failed", "DeadlineExceeded", true["Failed"].get("message")
                               or "the trial ran past budget.trialTimeout", start_time=start)
        detail = _failed(failed, start).message if failed is not None else \
            true["Failed"].get("message")
        return Observation("Failed", "Error", f"the trial's job failed ({reason}): {detail}",
                           start_time=start)
    if int(status.get("active") or 0) and any(
            (p.get("status") or {}).get("phase") == "Running" for p in job_pods):
        return Observation("Running", start_time=start)
    return Observation("Pending")


def _disruption(status: Obj) -> str | None:
    """Why the infrastructure took the pod away, if it did (an eviction, a preemption)."""
    if status.get("reason") in INFRA_REASONS:
        return str(status["reason"])
    return next((str(c.get("reason")) for c in status.get("conditions") or []
                 if c.get("type") == "DisruptionTarget" and c.get("status") == "True"
                 and c.get("reason") in DISRUPTIONS), None)


def _terminated(pod: Obj) -> Obj:
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        state = (c.get("state") or {}).get("terminated")
        if state is not None:
            return dict(state)
    return {}


def _unschedulable(status: Obj) -> str | None:
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("status") == "False":
            return str(c.get("reason") or "Unschedulable")
    return None


def _succeeded(term: Obj, expect: Expected, start: str | None) -> Observation:
    end = term.get("finishedAt")
    result = interpret(find_result(term.get("message")), *expect)
    if isinstance(result, BadResult):
        return Observation("Failed", result.reason, f"{result.message}; termination message: "
                           f"{_tail(term.get('message'))}", start_time=start, finish_time=end)
    return Observation("Succeeded", "Completed", "; ".join(result.notes) or None,
                       result.metrics, result.curve, start_time=start, finish_time=end,
                       derived=result.derived)


def _failed(pod: Obj, start: str | None) -> Observation:
    status = pod.get("status") or {}
    reason = status.get("reason")
    term = _terminated(pod)
    end = term.get("finishedAt")
    why = _disruption(status)
    if why is not None:
        return Observation("Pending", why, status.get("message") or why, retry=True)
    if reason == "DeadlineExceeded":
        return Observation("Failed", "DeadlineExceeded", status.get("message")
                           or "the trial ran past budget.trialTimeout", start_time=start,
                           finish_time=end)
    if term.get("reason") == "OOMKilled":
        return Observation("Failed", "OOMKilled", "the trainer ran out of memory (exit code "
                           f"{term.get('exitCode')}); raise trialTemplate.resources.limits."
                           "memory", start_time=start, finish_time=end)
    code = term.get("exitCode")
    return Observation("Failed", "Error", f"the trainer exited with code {code}: "
                       f"{_tail(term.get('message'))}", start_time=start, finish_time=end)


def _tail(message: str | None) -> str:
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1][-MESSAGE_LIMIT:] if lines else "no message"
