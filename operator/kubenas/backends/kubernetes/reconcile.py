"""One reconcile of one experiment: read everything, ask the engine, apply the decision.

Every write is idempotent (deterministic names, 409 AlreadyExists taken as done, status
derived from pods) and carries the resourceVersion it was based on, so the operator can be
killed between any two calls, or read a view that lags behind its own writes, and the next
pass continues where this one stopped. The order of writes keeps that true: a trial's
status records a new attempt before its pod exists, a trial is marked Stopped before its
pod is deleted, NASTrials are created in index order, and a retried trial's pod starts only
once the previous attempt's pod is gone. Writes that are independent of each other (the
status of different trials, their pods, deletes) go out at once, a few threads wide.

The views of trials and of pods come from separate watches, so one may lag the other: a
pod is only ever deleted on the word of its own trial, never because its trial is missing,
and a pod that the trial's status names but the view lacks is asked for before the trial is
retried as if the pod had been deleted.

What the API server refuses becomes status, never a stalled pass: a permanent refusal (403
from quotas, Pod Security or a webhook; 422/400 for an invalid object) stalls the
experiment with the server's reason and message, and creating is retried slowly; the rest
of the pass goes on. Transient failures were already retried by `Kube`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from kubenas.api.builtin_trainer import uses_builtin, value_problems
from kubenas.api.parse import ManifestError, parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.api.validate import FieldError
from kubenas.backends.kubernetes import immutability, pods, trials
from kubenas.backends.kubernetes.capacity import TERMINAL, gpu_capacity
from kubenas.backends.kubernetes.events import EventRecorder
from kubenas.backends.kubernetes.kube import (
    Api,
    ApiError,
    experiment_path,
    job_path,
    pod_path,
    trial_path,
)
from kubenas.backends.kubernetes.learning_curves import CurveSource, extend
from kubenas.backends.kubernetes.objects import TRIAL_LABEL, Obj, pod_name
from kubenas.backends.kubernetes.observability import OperatorMetrics
from kubenas.backends.kubernetes.policy import TrialPodPolicy
from kubenas.backends.kubernetes.sources import Listed, Source
from kubenas.backends.kubernetes.status import Problem, build, merge_patch
from kubenas.backends.kubernetes.timefmt import parse_time, rfc3339
from kubenas.backends.kubernetes.trial_lifecycle import (
    COMPLETION_INDEX,
    JOB_NAME,
    MAX_ATTEMPTS,
    Expected,
    Observation,
    observe,
    observe_job,
)
from kubenas.engine.engine import Decision, Engine, NewTrial
from kubenas.engine.status import counts

log = logging.getLogger(__name__)
SUSPENDED = "Suspended"
WRITE_THREADS = 8  # independent writes of one pass in flight at once
T = TypeVar("T")
Key = tuple[str, str]
# A refusal's reason: what was refused, and how.
REFUSALS = {(True, 403): "TrialCreateForbidden", (True, 422): "TrialInvalid",
            (True, 400): "TrialInvalid", (False, 403): "PodCreateForbidden",
            (False, 422): "PodInvalid", (False, 400): "PodInvalid"}


@dataclass
class Settings:
    trainer_image: str
    curves: CurveSource | None = None
    curve_interval_s: float = 2.0
    keep_finished_pods: int = 20
    policy: TrialPodPolicy = field(default_factory=TrialPodPolicy)
    refusal_backoff_s: float = 30.0  # how slowly a permanently refused create is retried
    now: Callable[[], float] = time.time


@dataclass(frozen=True)
class PassResult:
    exists: bool
    active: bool  # still has work: poll again soon
    stale: bool = False  # a write met a newer version: look again at once


class Stale(Exception):
    """A write was based on an older version than the server's; the pass ends here."""


@dataclass
class _Pass:
    """What one reconcile works on: the experiment and its trials, kept current as it writes."""

    manifest: Obj
    source: Source
    exp: Experiment | None = None
    objs: dict[int, Obj] = field(default_factory=dict)
    records: list[Trial] = field(default_factory=list)
    pods: dict[str, Obj] = field(default_factory=dict)
    jobs: dict[str, Obj] = field(default_factory=dict)
    now: float = 0.0
    problem: Problem | None = None
    decision: Decision = field(default_factory=Decision)

    @property
    def namespace(self) -> str:
        return str(self.manifest["metadata"]["namespace"])

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def key(self) -> Key:
        return self.namespace, self.name


class Reconciler:
    """Reconciles experiments; holds only caches and throttles, never state that matters."""

    def __init__(self, api: Api, settings: Settings, metrics: OperatorMetrics,
                 source: Source | None = None) -> None:
        self.api = api
        self.settings = settings
        self.metrics = metrics
        self.source = source or Listed(api)
        self.events = EventRecorder(api)
        # (uid, generation) -> parsed spec and its engine: parsing evaluates CEL rules and is
        # too slow to repeat on every pass; the spec only changes with the generation.
        self._specs: dict[Key, tuple[tuple[str, int], Experiment | ManifestError,
                                     Engine | None]] = {}
        self._last_curves: dict[Key, float] = {}
        # NASTrial uid -> (resourceVersion, record): an unchanged NASTrial yields the same
        # record object, so the engine's digest rescans only from the first trial that changed.
        self._records: dict[Key, dict[str, tuple[str, Trial]]] = {}
        self._refused: dict[Key, tuple[float, Problem]] = {}
        self._writers = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="write")

    def reconcile(self, namespace: str, name: str, source: Source | None = None) -> PassResult:
        """One pass, reading trials and pods from `source` (default: the API)."""
        key = (namespace, name)
        manifest = self.api.get(experiment_path(namespace, name))
        if manifest is None or manifest["metadata"].get("deletionTimestamp"):
            self.metrics.observe(key, None, None)
            self.release(key)
            self._last_curves.pop(key, None)
            return PassResult(False, False)
        p = _Pass(manifest, source or self.source, now=self.settings.now())
        try:
            self._load(p)
            if p.exp is not None:
                self._sync_trials(p)
                if p.problem is None or not p.problem.fatal:
                    self._decide_and_apply(p)
                self._update_curves(p)
                self._delete_finished_pods(p)
            self._write_status(p)
        except Stale:
            return PassResult(True, True, stale=True)
        phase = (p.manifest.get("status") or {}).get("phase")
        self.metrics.observe(key, phase, counts(p.records))
        done = phase in ("Succeeded", "Failed")
        if done:
            self.release(key)
        return PassResult(True, not done)

    def release(self, key: Key) -> None:
        """Forget what a finished or deleted experiment kept in memory."""
        self._specs.pop(key, None)
        self._records.pop(key, None)
        self._refused.pop(key, None)

    # -- reading ----------------------------------------------------------------------------

    def _load(self, p: _Pass) -> None:
        ns, name = p.key
        objs = p.source.trials(ns, name)
        live = {o["metadata"].get("uid") for o in objs}
        cache = self._records.get(p.key, {})
        self._records[p.key] = {u: v for u, v in cache.items() if u in live}
        p.records = trials.history(objs, self._record)
        by_index = {int(o["spec"]["index"]): o for o in objs}
        p.objs = {r.index: by_index[r.index] for r in p.records}
        p.pods = {o["metadata"]["name"]: o for o in p.source.pods(ns, name)}
        p.jobs = {o["metadata"]["name"]: o for o in p.source.jobs(ns, name)}
        spec = self._spec(p.manifest)
        if isinstance(spec, ManifestError):
            p.problem = Problem("InvalidSpec", str(spec), fatal=True)
            return
        if spec.tabular is not None:
            p.problem = Problem("InvalidSpec", "spec.tabular runs only with kubenas run and "
                                               "kubenas bench; remove it to run on a cluster",
                                fatal=True)
            return
        p.exp = spec
        changed = immutability.changed(p.manifest) if p.records else []
        violations = self.settings.policy.violations(spec)
        if changed:
            p.problem = Problem("ImmutableFieldChanged",
                                f"{', '.join(changed)} changed after trials started; the "
                                "operator keeps the running trials but starts no new ones. "
                                "Revert the change, or create a new NASExperiment.",
                                fatal=False)
        elif violations:
            p.problem = Problem("TrialPodPolicy", "; ".join(map(str, violations)) + " (the "
                                "operator's trial-pod policy; see the chart's trialPodPolicy)",
                                fatal=False)
        else:
            patch = immutability.annotation_patch(p.manifest, started=bool(p.records))
            if patch is not None:
                p.manifest = self._write(self.api.patch, experiment_path(ns, name), patch)
            refused = self._refused.get(p.key)
            if refused is not None:
                p.problem = refused[1]

    # -- trials and their pods --------------------------------------------------------------

    def _sync_trials(self, p: _Pass) -> None:
        """Bring every active trial's status in line with its pod; clean up stray pods."""
        assert p.exp is not None
        objective = p.exp.objective.primary.metric
        current: set[str] = set()
        observed: list[tuple[Trial, Observation]] = []
        for record in list(p.records):
            status = p.objs[record.index].get("status") or {}
            if record.phase == "Stopped" and record.reason == SUSPENDED and not p.exp.suspend:
                self._patch_trial(p, record.index, {
                    "phase": "Pending", "attempt": record.attempt + 1, "reason": "Resumed",
                    "message": "spec.suspend was set back to false", "pod": None,
                    "completionTime": None})
                continue
            if not record.active:
                continue
            name = pod_name(p.objs[record.index]["metadata"]["name"], record.attempt)
            current.add(name)
            created = status.get("pod") == name
            if created:
                self._confirm(p, name)
            expect = Expected(objective, record.kind, p.exp.space)
            obs = observe_job(p.jobs.get(name), _pods_of(p, name), created=created,
                              expect=expect) if _is_job(p.exp) else \
                observe(p.pods.get(name), created=created, expect=expect)
            if obs is not None:
                observed.append((record, obs))
        self._each(lambda item: self._apply_observation(p, *item), observed)
        known = _trial_names(p)
        stray = [pod_path(p.namespace, name) for name, pod in p.pods.items()
                 if name not in current and _trial_of(pod) in known and not _terminal(pod)
                 and not _job_of(pod) and not pod["metadata"].get("deletionTimestamp")]
        self._each(lambda path: self._delete(path, pods.TERMINATION_GRACE_S), stray)
        stray = [job_path(p.namespace, name) for name, job in p.jobs.items()
                 if name not in current and _trial_of(job) in known and not _finished(job)
                 and not job["metadata"].get("deletionTimestamp")]
        self._each(lambda path: self._delete(path, propagation="Background"), stray)

    def _confirm(self, p: _Pass, name: str) -> None:
        """Fetch a workload (and a Job's pods) that the trial says exists but the view lacks."""
        assert p.exp is not None
        if not _is_job(p.exp):
            if name not in p.pods:
                pod = self.api.get(pod_path(p.namespace, name))
                if pod is not None:
                    p.pods[name] = pod
            return
        if name not in p.jobs:
            job = self.api.get(job_path(p.namespace, name))
            if job is None:
                return
            p.jobs[name] = job
        if not _pods_of(p, name):
            for pod in self.api.list(pod_path(p.namespace), f"{JOB_NAME}={name}"):
                p.pods[pod["metadata"]["name"]] = pod

    def _each(self, call: Callable[[T], object], items: Iterable[T]) -> None:
        """`call` on every item at once; the first error is raised once all have ended."""
        batch = list(items)
        if len(batch) <= 1:
            for item in batch:
                call(item)
            return
        futures = [self._writers.submit(call, item) for item in batch]
        errors = [error for error in (f.exception() for f in futures) if error is not None]
        if errors:
            raise errors[0]

    def _apply_observation(self, p: _Pass, record: Trial, obs: Observation) -> None:
        assert p.exp is not None
        name = p.objs[record.index]["metadata"]["name"]
        if obs.retry:
            if record.attempt + 1 >= MAX_ATTEMPTS:
                obs = Observation("Failed", "RetryLimitExceeded",
                                  f"{MAX_ATTEMPTS} attempts lost to the infrastructure; last: "
                                  f"{obs.reason}: {obs.message}")
            else:
                self._patch_trial(p, record.index, {
                    "phase": "Pending", "attempt": record.attempt + 1, "reason": obs.reason,
                    "message": obs.message, "pod": None})
                self.metrics.trial_retries.labels(obs.reason or "Unknown").inc()
                self._event(p, "TrialRetried", f"trial {name} attempt {record.attempt} lost "
                            f"({obs.reason}: {obs.message}); retrying", warning=True)
                return
        patch: Obj = {"phase": obs.phase}
        if obs.start_time and not (p.objs[record.index].get("status") or {}).get("startTime"):
            patch["startTime"] = obs.start_time
        if obs.done:
            patch.update(reason=obs.reason, message=obs.message,
                         completionTime=obs.finish_time or rfc3339(p.now))
            if obs.phase == "Succeeded":
                patch.update(metrics=obs.metrics, curve=list(obs.curve or record.curve) or None,
                             value=obs.metrics.get(p.exp.objective.primary.metric),
                             derived=obs.derived)
            else:
                self.metrics.trial_failures.labels(obs.reason or "Error").inc()
                self._event(p, "TrialFailed", f"trial {name} failed: {obs.reason}: "
                            f"{obs.message}", warning=True)
        elif obs.reason != (p.objs[record.index].get("status") or {}).get("reason"):
            patch["reason"] = obs.reason
        self._patch_trial(p, record.index, patch)

    def _patch_trial(self, p: _Pass, index: int, changes: Obj) -> None:
        """Set status fields (a None value removes one); nested maps are replaced whole."""
        obj = p.objs[index]
        current = obj.get("status") or {}
        desired = {k: v for k, v in {**current, **changes}.items() if v is not None}
        patch = merge_patch(current, desired)
        if not patch:
            return
        body = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "status": patch}
        path = trial_path(p.namespace, obj["metadata"]["name"]) + "/status"
        obj = self._write(self.api.patch, path, body)
        p.objs[index] = obj
        p.records[index] = self._record(obj)

    def _write(self, call: Callable[[str, Obj], Obj], path: str, body: Obj) -> Obj:
        """A write whose conflict or disappearance means the view is stale."""
        try:
            return call(path, body)
        except ApiError as exc:
            if exc.status in (404, 409):
                raise Stale(str(exc)) from exc
            raise

    def _delete(self, path: str, grace_s: int | None = None,
                propagation: str | None = None) -> None:
        """Deletes are retried by the next pass: a refused one is logged, not raised."""
        try:
            self.api.delete(path, grace_s, propagation)
        except ApiError as exc:
            log.warning("deleting %s failed: %s", path, exc)

    def _record(self, obj: Obj) -> Trial:
        meta = obj["metadata"]
        cache = self._records.setdefault((meta["namespace"], obj["spec"]["experiment"]), {})
        uid, version = str(meta.get("uid")), meta.get("resourceVersion")
        cached = cache.get(uid)
        if cached is None or cached[0] != version or version is None:
            cached = (str(version), trials.to_record(obj))
            cache[uid] = cached
        return cached[1]

    def _delete_finished_pods(self, p: _Pass) -> None:
        """Finished pods (their trial's result is recorded, or an earlier attempt's) beyond
        the last few, which are kept for logs."""
        current = {pod_name(p.objs[r.index]["metadata"]["name"], r.attempt)
                   for r in p.records if r.active}
        keep, known = self.settings.keep_finished_pods, _trial_names(p)
        finished = sorted(name for name, pod in p.pods.items()
                          if name not in current and _trial_of(pod) in known
                          and _terminal(pod) and not _job_of(pod)
                          and not pod["metadata"].get("deletionTimestamp"))
        finished = finished[: max(0, len(finished) - keep)]
        self._each(lambda name: self._delete(pod_path(p.namespace, name)), finished)
        for name in finished:
            p.pods.pop(name, None)
        done = sorted(name for name, job in p.jobs.items()
                      if name not in current and _trial_of(job) in known and _finished(job)
                      and not job["metadata"].get("deletionTimestamp"))
        done = done[: max(0, len(done) - keep)]  # their pods go with them
        self._each(lambda name: self._delete(job_path(p.namespace, name),
                                             propagation="Background"), done)
        for name in done:
            p.jobs.pop(name, None)

    # -- the engine's decision --------------------------------------------------------------

    def _spec(self, manifest: Obj) -> Experiment | ManifestError:
        meta = manifest["metadata"]
        key, version = (meta["namespace"], meta["name"]), (meta.get("uid", ""),
                                                          int(meta.get("generation") or 0))
        cached = self._specs.get(key)
        if cached is None or cached[0] != version:
            source = f"{meta['namespace']}/{meta['name']}"
            try:
                exp: Experiment | ManifestError = parse(manifest, source=source)
            except ManifestError as exc:
                exp = exc
            if isinstance(exp, Experiment) and uses_builtin(exp) and value_problems(exp):
                exp = ManifestError(source, [FieldError(f, m) for f, m in value_problems(exp)])
            engine = Engine(exp) if isinstance(exp, Experiment) and exp.tabular is None else None
            cached = (version, exp, engine)
            self._specs[key] = cached
        return cached[1]

    def _engine(self, p: _Pass) -> Engine:
        engine = self._specs[p.key][2]
        assert engine is not None
        return engine

    def _capacity(self, p: _Pass) -> int | None:
        assert p.exp is not None
        if not p.exp.budget.gpu_aware:
            return None
        nodes = p.source.nodes()
        if nodes is None:
            return None  # no node access (namespaced install): maxParallelTrials only
        own = {(p.namespace, pod_name(p.objs[r.index]["metadata"]["name"], r.attempt))
               for r in p.records if r.active}
        return gpu_capacity(p.exp.trial_template, nodes, p.source.gpu_pods(), own)

    def _decide_and_apply(self, p: _Pass) -> None:
        assert p.exp is not None
        started = parse_time((p.manifest.get("status") or {}).get("startTime"))
        elapsed = p.now - started if started is not None else 0.0
        p.decision = self._engine(p).decide(p.records, elapsed_s=elapsed,
                                            capacity=self._capacity(p))
        stops = dict(p.decision.stop)
        if p.exp.suspend and p.decision.outcome is None:
            stops.update({r.index: SUSPENDED for r in p.records if r.active})
        for index, reason in sorted(stops.items()):
            self._stop(p, index, reason)
        if not self._may_create(p):
            return
        for new in p.decision.create:
            if not self._create_trial(p, new):
                break
        if not p.exp.suspend and p.decision.outcome is None:
            busy = {_trial_of(pod) for pod in p.pods.values() if not _terminal(pod)}
            pending = [r for r in p.records if r.phase == "Pending"]
            # The first alone: if it is refused, the others would be too, event and all.
            if pending and self._start_pod(p, pending[0], busy):
                self._each(lambda record: self._start_pod(p, record, busy), pending[1:])

    def _may_create(self, p: _Pass) -> bool:
        """No creates while stalled, except to retry a refusal once its backoff is over."""
        if p.problem is None:
            return True
        refused = self._refused.get(p.key)
        return refused is not None and p.problem is refused[1] and \
            p.now - refused[0] >= self.settings.refusal_backoff_s

    def _refuse(self, p: _Pass, exc: ApiError, trial: bool, what: str) -> None:
        reason = REFUSALS.get((trial, exc.status), "CreateRefused")
        problem = Problem(reason, f"the API server refused {what}: {exc.message}", fatal=False)
        known = self._refused.get(p.key)
        if known is None or known[1].message != problem.message:
            self._event(p, reason, problem.message, warning=True)
        self._refused[p.key] = (p.now, problem)
        p.problem = problem
        log.warning("%s/%s: %s", *p.key, problem.message)

    def _cleared(self, p: _Pass) -> None:
        if self._refused.pop(p.key, None) is not None and p.problem is not None and \
                p.problem.reason in REFUSALS.values():
            p.problem = None

    def _stop(self, p: _Pass, index: int, reason: str) -> None:
        record = p.records[index]
        if not record.active:
            return
        self._patch_trial(p, index, {"phase": "Stopped", "reason": reason,
                                     "message": f"stopped by the operator: {reason}",
                                     "completionTime": rfc3339(p.now)})
        name = pod_name(p.objs[index]["metadata"]["name"], record.attempt)
        if name in p.pods:
            self._delete(pod_path(p.namespace, name), pods.TERMINATION_GRACE_S)
        if name in p.jobs:
            self._delete(job_path(p.namespace, name), propagation="Background")
        self._event(p, "TrialStopped", f"trial {p.objs[index]['metadata']['name']} stopped: "
                    f"{reason}")

    def _create_trial(self, p: _Pass, new: NewTrial) -> bool:
        """Create the NASTrial; False stops this pass's creations (the next pass retries)."""
        assert p.exp is not None
        p.records.append(new.record())
        body = trials.manifest(p.exp, p.manifest, p.records, new)
        name = body["metadata"]["name"]
        try:
            obj = self.api.create(trial_path(p.namespace), body)
        except ApiError as exc:
            existing = self.api.get(trial_path(p.namespace, name)) if exc.status == 409 else None
            if existing is None:
                p.records.pop()
                if exc.transient:
                    log.warning("creating trial %s failed: %s", name, exc)
                else:
                    self._refuse(p, exc, True, f"NASTrial {name}")
                return False
            obj = existing  # created by a pass that crashed before it could go on
        self._cleared(p)
        p.objs[new.index] = obj
        p.records[new.index] = self._record(obj)
        if new.parent is not None:
            self._event(p, "TrialPromoted", f"trial {p.name}-{new.parent} promoted to budget "
                        f"{new.budget:g} as {name}")
        else:
            self._event(p, "TrialCreated", f"trial {name} created at budget {new.budget:g}")
        return True

    def _start_pod(self, p: _Pass, record: Trial, busy: set[str | None]) -> bool:
        """Create the trial's pod (or Job) unless the trial is in `busy` (it has a pod that
        still runs or terminates: one at a time); False stops this pass's creations."""
        assert p.exp is not None
        obj = p.objs[record.index]
        trial = obj["metadata"]["name"]
        name = pod_name(trial, record.attempt)
        started = p.jobs if _is_job(p.exp) else p.pods
        if name in started or (obj.get("status") or {}).get("pod") == name or trial in busy:
            return True
        body = pods.render(p.exp, obj, p.records, record.attempt, self.settings.trainer_image)
        path = job_path(p.namespace) if _is_job(p.exp) else pod_path(p.namespace)
        try:
            started[name] = self.api.create(path, body)
        except ApiError as exc:
            if exc.transient:
                log.warning("creating pod %s failed: %s", name, exc)
                return False
            if exc.status != 409:
                self._refuse(p, exc, False, f"pod {name}")
                return False
        self._cleared(p)
        self.metrics.trial_starts.inc()
        self._patch_trial(p, record.index, {"phase": "Pending", "pod": name,
                                            "attempt": record.attempt})
        return True

    # -- learning curves and status ---------------------------------------------------------

    def _update_curves(self, p: _Pass) -> None:
        source, key = self.settings.curves, p.key
        if source is None or p.exp is None:
            return
        if p.now - self._last_curves.get(key, 0.0) < self.settings.curve_interval_s:
            return
        running = {r.index: _reporting_pod(p, pod_name(p.objs[r.index]["metadata"]["name"],
                                                       r.attempt))
                   for r in p.records if r.phase == "Running"}
        live = [p.pods[n] for n in running.values() if n in p.pods]
        if not live:
            return
        self._last_curves[key] = p.now
        objective = p.exp.objective.primary.metric
        points = source.read(p.namespace, p.name, objective, live)
        for index, name in running.items():
            point = points.get(name)
            if point is None:
                continue
            record = p.records[index]
            curve = extend(record.curve, record.metrics.get("epoch", 0.0), point)
            if curve is not None:
                self._patch_trial(p, index, {"curve": curve, "metrics": {
                    objective: point.value, "epoch": point.epoch}})

    def _write_status(self, p: _Pass) -> None:
        old = p.manifest.get("status") or {}
        engine = self._specs.get(p.key, (None, None, None))[2]
        new = build(p.exp, p.manifest, p.records, p.decision.outcome, p.problem, p.now,
                    engine.space if engine is not None else None)
        patch = merge_patch(old, new)
        if not patch:
            return
        path = experiment_path(p.namespace, p.name) + "/status"
        body = {"metadata": {"resourceVersion": p.manifest["metadata"]["resourceVersion"]},
                "status": patch}
        p.manifest = self._write(self.api.patch, path, body)
        if new["phase"] != old.get("phase"):
            self._phase_event(p, new, old.get("phase"))

    def _phase_event(self, p: _Pass, status: Obj, before: str | None) -> None:
        phase = status["phase"]
        if phase in ("Succeeded", "Failed"):
            condition = next(c for c in status["conditions"] if c["type"] == phase)
            self._event(p, f"Experiment{phase}", f"{condition['reason']}: "
                        f"{condition['message']}", warning=phase == "Failed")
        elif phase == "Suspended":
            self._event(p, "Suspended", "spec.suspend is true; running trials stopped")
        elif before == "Suspended":
            self._event(p, "Resumed", "spec.suspend is false; stopped trials rerun")
        elif phase == "Running" and before in (None, "Pending"):
            self._event(p, "Started", "the search started")

    def _event(self, p: _Pass, reason: str, message: str, *, warning: bool = False) -> None:
        self.events.post(p.manifest, reason, message, now=p.now, warning=warning)


def _trial_of(obj: Obj) -> str | None:
    return (obj["metadata"].get("labels") or {}).get(TRIAL_LABEL)


def _trial_names(p: _Pass) -> set[str | None]:
    return {obj["metadata"]["name"] for obj in p.objs.values()}


def _terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL


def _is_job(exp: Experiment) -> bool:
    return (exp.trial_template.get("workload") or {}).get("kind") == "Job"


def _job_of(pod: Obj) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(JOB_NAME)


def _pods_of(p: _Pass, job: str) -> list[Obj]:
    return [pod for pod in p.pods.values() if _job_of(pod) == job]


def _finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _reporting_pod(p: _Pass, workload: str) -> str:
    """The pod whose metrics stand for the trial: its own, or its job's index 0."""
    for pod in _pods_of(p, workload):
        if (pod["metadata"].get("annotations") or {}).get(COMPLETION_INDEX) == "0":
            return str(pod["metadata"]["name"])
    return workload
