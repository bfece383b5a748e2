"""The Job controller of kube-controller-manager (`pkg/controller/job`), as of Kubernetes 1.35.

It talks to the API server over HTTP only, like the kubelet, and is level-triggered the
same way: watches on jobs and pods only wake it, each pass lists both and reconciles every
Job, so a dropped watch or a restarted server loses nothing.

Per Job it does what `syncJob` does:
- pods from the template: owner reference (controller), the template's labels (with the
  generated `batch.kubernetes.io/job-name` and `batch.kubernetes.io/controller-uid`), the
  `batch.kubernetes.io/job-tracking` finalizer, `generateName: <job>-`; for
  `completionMode: Indexed`, `<job>-<index>-`, the `batch.kubernetes.io/job-completion-index`
  annotation and label, `JOB_COMPLETION_INDEX` in every container, hostname `<job>-<index>`;
- `parallelism` and `completions` (pods wanted: min(parallelism, completions - succeeded)),
  excess pods deleted, `suspend` (active pods deleted uncounted, `Suspended` condition,
  `startTime` reset on resume), `podReplacementPolicy`;
- finished pods counted through `status.uncountedTerminatedPods` and the removal of their
  tracking finalizer, as the real controller counts them (a crash between the steps neither
  loses nor double-counts a pod); a pod being deleted counts as failed;
- failures: `failed > backoffLimit` gives `FailureTarget` (reason `BackoffLimitExceeded`),
  `activeDeadlineSeconds` past gives `DeadlineExceeded`; active pods are then deleted, and
  once none is left terminating the `Failed` condition follows with the same reason;
  success gives `SuccessCriteriaMet` then `Complete` (reason `CompletionsReached`) and
  `completionTime`;
- replacements of failed pods wait out the pod failure backoff, 10 s doubling per failure
  since the last success, capped at 10 minutes (`pod_failure_backoff` lowers it for tests);
- events as the controller records them (`SuccessfulCreate`, `FailedCreate`,
  `SuccessfulDelete`, `Completed`, `BackoffLimitExceeded`, ...);
- pods whose Job is gone lose their tracking finalizer, so garbage collection can finish.

Not done: `podFailurePolicy`, `successPolicy`, `backoffLimitPerIndex`/`maxFailedIndexes`,
`managedBy`, restart counting for `restartPolicy: OnFailure` (the kubelet does not restart
containers), adoption of orphan pods that match a selector, `ttlSecondsAfterFinished`.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from ..kubelet.client import ApiClient, ApiError, Obj, pod_path

log = logging.getLogger("kubesim.jobs")

FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX = "batch.kubernetes.io/job-completion-index"
TICK = 0.1
RESYNC = 1.0
COALESCE = 0.05
TERMINAL = ("Succeeded", "Failed")
FINISHED = ("Complete", "Failed")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def job_path(namespace: str, name: str = "", sub: str = "") -> str:
    path = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return path + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")


def _condition(kind: str, status: str, reason: str, message: str) -> Obj:
    stamp = _now()
    return {"type": kind, "status": status, "lastProbeTime": stamp,
            "lastTransitionTime": stamp, "reason": reason, "message": message}


def _find(conditions: list[Obj], kind: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def _is_true(conditions: list[Obj], kind: str) -> bool:
    found = _find(conditions, kind)
    return found is not None and found.get("status") == "True"


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _phase(pod: Obj) -> str:
    return (pod.get("status") or {}).get("phase", "")


def _index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX)
    try:
        return int(value) if value is not None and int(value) >= 0 else None
    except ValueError:
        return None


def _finished_at(pod: Obj) -> float:
    times = [_parse(t["finishedAt"]) for s in (pod.get("status") or {}).get(
        "containerStatuses") or [] if (t := (s.get("state") or {}).get("terminated"))
        and t.get("finishedAt")]
    if times:
        return max(times)
    stamp = pod["metadata"].get("deletionTimestamp")
    return _parse(stamp) if stamp else time.time()


def parse_indexes(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (text or "").split(",")):
        first, _, last = part.partition("-")
        out.update(range(int(first), int(last or first) + 1))
    return out


def format_indexes(indexes: set[int]) -> str:
    """`orderedIntervals.String()`: runs of three or more as `a-b`, of two as `a,b`."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
        i = j + 1
    return ",".join(parts)


@dataclass
class _Backoff:
    """`backoffRecord`: failures since the last success and when the last one ended."""

    failures: int = 0
    last_failure: float = 0.0
    seen: set[str] = field(default_factory=set)


class JobController:
    """Runs in a background thread; `start()` and `stop()`."""

    def __init__(self, api_url: str, pod_failure_backoff: float = 10.0,
                 max_pod_failure_backoff: float = 600.0) -> None:
        self.api = ApiClient(api_url)
        self.pod_failure_backoff = pod_failure_backoff
        self.max_pod_failure_backoff = max_pod_failure_backoff
        self._backoff: dict[str, _Backoff] = {}
        self._create_retry: dict[str, tuple[float, float]] = {}  # uid -> (not before, delay)
        self._due: dict[str, float] = {}  # uid -> when a deadline or backoff runs out
        self._changed = False  # this sync created or deleted pods
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kubesim-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()
        for path in ("/apis/batch/v1/jobs", "/api/v1/pods"):
            threading.Thread(target=self._watch, args=(path,), daemon=True,
                             name="kubesim-jobs-watch").start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        next_sync = 0.0
        while not self._stopping.is_set():
            woke = self._wake.wait(TICK)
            if woke:
                # Pod events come in bursts (a kubelet writes several per pod): take them as
                # one pass, as the real controller batches pod-triggered syncs.
                time.sleep(COALESCE)
            self._wake.clear()
            now = time.monotonic()
            due = any(t <= time.time() for t in self._due.values())
            if not (woke or due or now >= next_sync):
                continue
            next_sync = now + RESYNC
            try:
                self.sync_all()
            except (requests.RequestException, ApiError) as err:
                log.warning("job controller pass failed: %s", err)
                time.sleep(TICK)
            except Exception:
                log.exception("job controller pass failed")
                time.sleep(TICK)

    def _watch(self, path: str) -> None:
        while not self._stopping.is_set():
            try:
                for _ in self.api.watch(path, self._stopping):
                    self._wake.set()
            except (requests.RequestException, ApiError, ValueError):
                time.sleep(0.5)
            self._wake.set()

    def sync_all(self) -> None:
        jobs = self.api.items("/apis/batch/v1/jobs")
        pods = self.api.items("/api/v1/pods")
        by_uid = {j["metadata"]["uid"]: j for j in jobs}
        owned: dict[str, list[Obj]] = {}
        for pod in pods:
            ref = next((r for r in pod["metadata"].get("ownerReferences") or []
                        if r.get("controller")), None)
            job = by_uid.get(ref["uid"]) if ref and ref.get("kind") == "Job" else None
            if job is not None:
                owned.setdefault(job["metadata"]["uid"], []).append(pod)
            elif FINALIZER in (pod["metadata"].get("finalizers") or []):
                self._remove_finalizer(pod)  # the orphan worker
        for uid in set(self._due) - set(by_uid):
            self._due.pop(uid, None)
        for job in jobs:
            try:
                self.sync(job, owned.get(job["metadata"]["uid"], []))
            except ApiError as err:
                if err.status not in (404, 409):
                    raise

    # -- one Job ------------------------------------------------------------------------------
    def sync(self, job: Obj, pods: list[Obj]) -> None:
        meta, spec = job["metadata"], job["spec"]
        status = job.setdefault("status", {})
        conditions: list[Obj] = status.setdefault("conditions", [])
        if any(_is_true(conditions, k) for k in FINISHED):
            self._due.pop(meta["uid"], None)
            return
        before = copy.deepcopy(status)
        indexed = spec.get("completionMode") == "Indexed"
        completions = spec.get("completions")
        suspended = bool(spec.get("suspend"))
        replace_terminating = spec.get("podReplacementPolicy", "TerminatingOrFailed") != "Failed"

        def failed(pod: Obj) -> bool:
            """`isPodFailed`: Failed, or being deleted before it succeeded."""
            return _phase(pod) == "Failed" or (
                replace_terminating and bool(pod["metadata"].get("deletionTimestamp"))
                and _phase(pod) != "Succeeded")

        tracked = {p["metadata"]["uid"] for p in pods
                   if FINALIZER in (p["metadata"].get("finalizers") or [])}
        uncounted = status.setdefault("uncountedTerminatedPods", {})
        self._count_uncounted(status, tracked, indexed)
        counted = set(uncounted.get("succeeded") or []) | set(uncounted.get("failed") or [])
        new_succeeded = [p for p in pods if p["metadata"]["uid"] in tracked
                         and p["metadata"]["uid"] not in counted and _phase(p) == "Succeeded"]
        new_failed = [p for p in pods if p["metadata"]["uid"] in tracked
                      and p["metadata"]["uid"] not in counted and failed(p)]
        self._record_backoff(meta["uid"], new_succeeded, new_failed)
        n_failed = status.get("failed", 0) + len(uncounted.get("failed") or []) + len(new_failed)
        if indexed:
            done = parse_indexes(status.get("completedIndexes", "")) | {
                i for p in new_succeeded if (i := _index(p)) is not None and i < completions}
            n_succeeded = len(done)
        else:
            done = set()
            n_succeeded = status.get("succeeded", 0) + len(uncounted.get("succeeded") or []) \
                + len(new_succeeded)

        if status.get("startTime") is None and not suspended:
            status["startTime"] = _now()

        finished: Obj | None = None
        target = _find(conditions, "FailureTarget")
        criteria = _find(conditions, "SuccessCriteriaMet")
        if target is not None and target.get("status") == "True":
            finished = _condition("Failed", "True", target["reason"], target["message"])
        elif criteria is not None and criteria.get("status") == "True":
            finished = _condition("Complete", "True", criteria["reason"], criteria["message"])
        elif n_failed > spec.get("backoffLimit", 6):
            finished = _condition("FailureTarget", "True", "BackoffLimitExceeded",
                                  "Job has reached the specified backoff limit")
        elif self._past_deadline(job):
            finished = _condition("FailureTarget", "True", "DeadlineExceeded",
                                  "Job was active longer than specified deadline")
        elif spec.get("activeDeadlineSeconds") and not suspended:
            self._due[meta["uid"]] = _parse(status["startTime"]) + spec["activeDeadlineSeconds"]

        active = [p for p in pods if _phase(p) not in TERMINAL
                  and not p["metadata"].get("deletionTimestamp")]
        if finished is not None and finished["type"] in ("FailureTarget", "Failed"):
            for pod in active:
                self._delete_pod(job, pod)
            active = []
        elif not meta.get("deletionTimestamp"):
            active = self._manage(job, pods, active, n_succeeded, done, suspended)
            if completions is None:
                complete = n_succeeded > 0 and not active
            else:
                complete = n_succeeded >= completions and not active
            if complete:
                finished = _condition("SuccessCriteriaMet", "True", "CompletionsReached",
                                      "Reached expected number of succeeded pods")
            self._suspend_condition(job, conditions, suspended)
        if self._changed:  # count what this pass created and deleted
            pods = [p for p in self.api.items(f"/api/v1/namespaces/{meta['namespace']}/pods")
                    if any(r.get("uid") == meta["uid"] and r.get("controller")
                           for r in p["metadata"].get("ownerReferences") or [])]
            self._changed = False
        owned = pods
        status["active"] = len([p for p in owned if _phase(p) not in TERMINAL
                                and not p["metadata"].get("deletionTimestamp")])
        status["ready"] = len([p for p in owned if _phase(p) not in TERMINAL
                               and not p["metadata"].get("deletionTimestamp") and _ready(p)])
        terminating = len([p for p in owned if p["metadata"].get("deletionTimestamp")
                           and _phase(p) not in TERMINAL])
        status["terminating"] = terminating
        self._track(job, owned, finished, failed, indexed, before)

    def _count_uncounted(self, status: Obj, tracked: set[str], indexed: bool) -> None:
        """`cleanUncountedPodsWithoutFinalizers`: pods whose finalizer is gone are counted."""
        uncounted = status["uncountedTerminatedPods"]
        for key in ("succeeded", "failed"):
            uids = uncounted.get(key) or []
            done = [u for u in uids if u not in tracked]
            if not indexed or key == "failed":
                status[key] = status.get(key, 0) + len(done)
            left = [u for u in uids if u in tracked]
            if left:
                uncounted[key] = left
            else:
                uncounted.pop(key, None)

    def _track(self, job: Obj, pods: list[Obj], finished: Obj | None, failed: Any,
               indexed: bool, before: Obj) -> None:
        """`trackJobStatusAndRemoveFinalizers`: record, unfinalize, count, then finish."""
        meta, status = job["metadata"], job["status"]
        conditions = status["conditions"]
        uncounted = status["uncountedTerminatedPods"]
        completions = job["spec"].get("completions")
        failing = finished is not None and finished["type"] in ("FailureTarget", "Failed")
        release = []
        done = parse_indexes(status.get("completedIndexes", ""))
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if FINALIZER not in (pod["metadata"].get("finalizers") or []):
                continue
            is_failed = failed(pod)
            if not (meta.get("deletionTimestamp") or finished is not None
                    or _phase(pod) == "Succeeded" or is_failed):
                continue
            release.append(pod)
            if uid in (uncounted.get("succeeded") or []) or uid in (uncounted.get("failed")
                                                                    or []):
                continue
            index = _index(pod)
            if _phase(pod) == "Succeeded":
                if indexed:
                    if index is not None and index < completions:
                        done.add(index)
                else:
                    uncounted.setdefault("succeeded", []).append(uid)
            elif (is_failed or failing) and (
                    not indexed or (index is not None and index < completions)):
                uncounted.setdefault("failed", []).append(uid)
        if indexed:
            status["succeeded"] = len(done)
            if done:
                status["completedIndexes"] = format_indexes(done)
        if finished is not None and finished["type"] == "FailureTarget":
            conditions.append(finished)
            finished = _condition("Failed", "True", finished["reason"], finished["message"])
        if finished is not None and finished["type"] == "SuccessCriteriaMet":
            if _find(conditions, "SuccessCriteriaMet") is None:
                conditions.append(finished)
            finished = _condition("Complete", "True", finished["reason"], finished["message"])
        if status != before:
            job = self._write_status(job)
        released = []
        for pod in release:
            if self._remove_finalizer(pod):
                released.append(pod["metadata"]["uid"])
        status = job["status"]
        uncounted = status.setdefault("uncountedTerminatedPods", {})
        tracked = {p["metadata"]["uid"] for p in pods if p["metadata"]["uid"] not in released
                   and FINALIZER in (p["metadata"].get("finalizers") or [])}
        self._count_uncounted(status, tracked, indexed)
        ended = False
        if finished is not None and not uncounted and not status.get("terminating"):
            conditions = status.setdefault("conditions", [])
            if _find(conditions, finished["type"]) is None:
                conditions.append(finished)
                ended = True
                if finished["type"] == "Complete":
                    status["completionTime"] = finished["lastTransitionTime"]
        if released or ended:
            job = self._write_status(job)
        if ended:
            if finished is not None and finished["type"] == "Complete":
                self._event(job, "Normal", "Completed", "Job completed")
            elif finished is not None:
                self._event(job, "Warning", finished["reason"], finished["message"])
            self._due.pop(meta["uid"], None)

    def _write_status(self, job: Obj) -> Obj:
        status = job["status"]
        for key in ("active", "succeeded", "failed"):
            if status.get(key) == 0:
                status.pop(key)  # omitempty
        if not status.get("conditions"):
            status.pop("conditions", None)
        meta = job["metadata"]
        written = self.api.request("PUT", job_path(meta["namespace"], meta["name"], "status"), job)
        written.setdefault("status", {}).setdefault("conditions", [])
        written["status"].setdefault("uncountedTerminatedPods", {})
        return written

    # -- pods ---------------------------------------------------------------------------------
    def _manage(self, job: Obj, pods: list[Obj], active: list[Obj], succeeded: int,
                done: set[int], suspended: bool) -> list[Obj]:
        """`manageJob`: create or delete pods toward the wanted number; the active pods left."""
        spec = job["spec"]
        if suspended:
            for pod in active:
                self._delete_pod(job, pod, uncounted=True)
            return []
        parallelism = spec.get("parallelism", 1)
        completions = spec.get("completions")
        terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")
                       and _phase(p) not in TERMINAL]
        blocking = 0 if spec.get("podReplacementPolicy", "TerminatingOrFailed") != "Failed" \
            else len(terminating)
        if spec.get("completionMode") == "Indexed":
            return self._manage_indexed(job, active, terminating, done, blocking)
        if completions is None:
            want = parallelism if succeeded == 0 else len(active)
        else:
            want = max(0, min(completions - succeeded, parallelism))
        extra = len(active) - want
        if extra > 0:
            # The least valuable first: not ready, then the newest.
            doomed = sorted(active, key=lambda p: (_ready(p), _neg(p)))[:extra]
            for pod in doomed:
                self._delete_pod(job, pod, uncounted=True)
            return [p for p in active if p not in doomed]
        missing = want - len(active) - blocking
        if missing > 0 and self._may_create(job):
            for _ in range(missing):
                pod = self._create_pod(job, None)
                if pod is None:
                    break
                active.append(pod)
        return active

    def _manage_indexed(self, job: Obj, active: list[Obj], terminating: list[Obj],
                        done: set[int], blocking: int) -> list[Obj]:
        spec = job["spec"]
        completions = spec["completions"]
        keep: dict[int, Obj] = {}
        for pod in sorted(active, key=lambda p: (not _ready(p), p["metadata"][
                "creationTimestamp"])):
            index = _index(pod)
            if index is None or index >= completions or index in done or index in keep:
                self._delete_pod(job, pod, uncounted=True)
            else:
                keep[index] = pod
        want = max(0, min(spec.get("parallelism", 1), completions - len(done)))
        busy = set(keep) | ({i for p in terminating if (i := _index(p)) is not None}
                            if blocking else set())
        missing = [i for i in range(completions) if i not in done and i not in busy]
        room = want - len(keep)
        if room > 0 and missing and self._may_create(job):
            for index in missing[:room]:
                pod = self._create_pod(job, index)
                if pod is None:
                    break
                keep[index] = pod
        return list(keep.values())

    def _may_create(self, job: Obj) -> bool:
        """Pod failure backoff, and the retry delay after a refused create."""
        uid = job["metadata"]["uid"]
        record = self._backoff.get(uid)
        now = time.time()
        if record is not None and record.failures:
            wait = min(self.pod_failure_backoff * 2 ** (record.failures - 1),
                       self.max_pod_failure_backoff)
            if now < record.last_failure + wait:
                self._due[uid] = record.last_failure + wait
                return False
        not_before, _ = self._create_retry.get(uid, (0.0, 0.0))
        if now < not_before:
            self._due[uid] = not_before
            return False
        return True

    def _record_backoff(self, uid: str, succeeded: list[Obj], failed: list[Obj]) -> None:
        record = self._backoff.setdefault(uid, _Backoff())
        ends = sorted([(_finished_at(p), True, p) for p in succeeded if p["metadata"]["uid"]
                       not in record.seen] + [(_finished_at(p), False, p) for p in failed
                                               if p["metadata"]["uid"] not in record.seen],
                      key=lambda e: e[0])
        for at, ok, pod in ends:
            record.seen.add(pod["metadata"]["uid"])
            if ok:
                record.failures = 0
            else:
                record.failures += 1
                record.last_failure = max(record.last_failure, at)

    def _past_deadline(self, job: Obj) -> bool:
        deadline = job["spec"].get("activeDeadlineSeconds")
        start = job["status"].get("startTime")
        if deadline is None or start is None or job["spec"].get("suspend"):
            return False
        return time.time() - _parse(start) >= deadline

    def _suspend_condition(self, job: Obj, conditions: list[Obj], suspended: bool) -> None:
        current = _find(conditions, "Suspended")
        if suspended:
            if current is None or current.get("status") != "True":
                if current is not None:
                    conditions.remove(current)
                conditions.append(_condition("Suspended", "True", "JobSuspended",
                                             "Job suspended"))
                self._event(job, "Normal", "Suspended", "Job suspended")
        elif current is not None and current.get("status") == "True":
            conditions.remove(current)
            conditions.append(_condition("Suspended", "False", "JobResumed", "Job resumed"))
            self._event(job, "Normal", "Resumed", "Job resumed")
            job["status"]["startTime"] = _now()

    def _template_pod(self, job: Obj, index: int | None) -> Obj:
        """`controller.GetPodFromTemplate` plus the Job controller's additions."""
        meta = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        template_meta = template.get("metadata") or {}
        spec = template.get("spec") or {}
        labels = dict(template_meta.get("labels") or {})
        annotations = dict(template_meta.get("annotations") or {})
        if index is None:
            generate = f"{meta['name']}-"
        else:
            suffix = f"-{index}-"
            generate = meta["name"][:58 - len(suffix)] + suffix
            annotations[INDEX] = labels[INDEX] = str(index)
            spec.setdefault("hostname", f"{meta['name']}-{index}")
            for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                env = container.setdefault("env", [])
                if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in env):
                    env.append({"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
                        "fieldPath": f"metadata.annotations['{INDEX}']"}}})
        pod_meta: Obj = {
            "generateName": generate,
            "labels": labels,
            "finalizers": [*(template_meta.get("finalizers") or []), FINALIZER],
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                                 "uid": meta["uid"], "controller": True,
                                 "blockOwnerDeletion": True}],
        }
        if annotations:
            pod_meta["annotations"] = annotations
        return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}

    def _create_pod(self, job: Obj, index: int | None) -> Obj | None:
        meta = job["metadata"]
        try:
            pod = self.api.post(f"/api/v1/namespaces/{meta['namespace']}/pods",
                                self._template_pod(job, index))
        except ApiError as err:
            message = err.message()
            self._event(job, "Warning", "FailedCreate", f"Error creating: {message}")
            _, delay = self._create_retry.get(meta["uid"], (0.0, 0.5))
            delay = min(delay * 2, 60.0)
            self._create_retry[meta["uid"]] = (time.time() + delay, delay)
            self._due[meta["uid"]] = time.time() + delay
            return None
        self._create_retry.pop(meta["uid"], None)
        self._changed = True
        self._event(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        return pod

    def _delete_pod(self, job: Obj, pod: Obj, uncounted: bool = False) -> None:
        """`podControl.DeletePod`; `uncounted` first drops the finalizer (`deleteJobPods`)."""
        if uncounted:
            self._remove_finalizer(pod)
        meta = pod["metadata"]
        try:
            self.api.delete(pod_path(meta["namespace"], meta["name"]))
        except ApiError as err:
            if err.status != 404:
                raise
            return
        self._changed = True
        self._event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    def _remove_finalizer(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        if FINALIZER not in (meta.get("finalizers") or []):
            return True
        try:
            self.api.patch(pod_path(meta["namespace"], meta["name"]),
                           {"metadata": {"$deleteFromPrimitiveList/finalizers": [FINALIZER]}},
                           "strategic")
        except ApiError as err:
            if err.status == 404:
                return True
            raise
        meta["finalizers"] = [f for f in meta["finalizers"] if f != FINALIZER]
        return True

    def _event(self, job: Obj, kind: str, reason: str, message: str) -> None:
        meta = job["metadata"]
        stamp = _now()
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
                         "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": "batch/v1", "kind": "Job",
                               "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta["uid"],
                               "resourceVersion": meta.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "firstTimestamp": stamp, "lastTimestamp": stamp,
            "source": {"component": "job-controller"},
            "reportingComponent": "job-controller", "reportingInstance": "",
        }
        try:
            self.api.post(f"/api/v1/namespaces/{meta['namespace']}/events", event)
        except ApiError as err:
            log.info("event not recorded: %s", err)


def _neg(pod: Obj) -> float:
    return -_parse(pod["metadata"]["creationTimestamp"])
