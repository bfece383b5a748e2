"""Render a trial's Pod from `spec.trialTemplate`.

The pod is the trial contract (docs/trial-contract.md) as Kubernetes objects: env vars,
a metrics port Prometheus discovers, and a termination message the operator reads back.
Defaults follow the restricted Pod Security Standard; scheduling fields pass through.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Sequence
from typing import Any

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.backends.contract import export_dir, trial_env
from kubenas.backends.kubernetes.objects import Obj, labels, owner_reference, pod_name

CONTAINER = "trainer"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
GPU = "nvidia.com/gpu"
# Grace for a stopped trial to flush its checkpoint before SIGKILL.
TERMINATION_GRACE_S = 10
RUN_AS = 10001  # the uid of the trainer image (trainer_image/Dockerfile)

POD_SECURITY: Obj = {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS,
                     "fsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY: Obj = {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                           "capabilities": {"drop": ["ALL"]},
                           "seccompProfile": {"type": "RuntimeDefault"}}
# Template fields copied onto the pod spec as they are.
PASSTHROUGH = ("nodeSelector", "tolerations", "affinity", "priorityClassName",
               "runtimeClassName", "serviceAccountName")


def checkpoint_dirs(exp: Experiment, trial: Trial) -> tuple[str | None, str | None]:
    """(this trial's checkpoint dir, the parent's to resume from); None without checkpointDir.

    A retried attempt needs no resume hint: the trainer resumes from its own directory first.
    """
    root = exp.trial_template.get("checkpointDir")
    if not root:
        return None, None
    own = posixpath.join(root, trial_name(exp.name, trial.index))
    parent = (posixpath.join(root, trial_name(exp.name, trial.parent))
              if trial.parent is not None else None)
    return own, parent


def gpus_per_trial(template: Obj) -> int:
    resources = template.get("resources") or {}
    for key in ("limits", "requests"):
        value = (resources.get(key) or {}).get(GPU)
        if value is not None:
            return int(value)
    return 0


def render(exp: Experiment, trial_obj: Obj, trials: Sequence[Trial], attempt: int,
           default_image: str) -> Obj:
    """The workload for `attempt` of the trial `trial_obj` (a NASTrial with metadata.uid):
    a Pod, or with `workload.kind: Job` an indexed Job of `replicas` such pods."""
    name = trial_obj["metadata"]["name"]
    metadata, spec = _pod_template(exp, trial_obj, trials, default_image)
    workload = exp.trial_template.get("workload") or {}
    owner = {"name": pod_name(name, attempt), "namespace": exp.namespace,
             "ownerReferences": [owner_reference(trial_obj)]}
    if workload.get("kind") != "Job":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {**metadata, **owner},
                "spec": spec}
    replicas = int(workload.get("replicas", 1))
    job_spec: Obj = {"completions": replicas, "parallelism": replicas,
                     "completionMode": "Indexed", "backoffLimit": 0,
                     "template": {"metadata": metadata, "spec": spec}}
    if "activeDeadlineSeconds" in spec:
        job_spec["activeDeadlineSeconds"] = spec.pop("activeDeadlineSeconds")
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {**owner, "labels": metadata["labels"]}, "spec": job_spec}


def _pod_template(exp: Experiment, trial_obj: Obj, trials: Sequence[Trial],
                  default_image: str) -> tuple[Obj, Obj]:
    """(metadata, spec) of a trial pod: the template's podSpec, if any, with the trainer
    container made to honour the trial contract, and kubenas' restricted defaults for what
    neither sets."""
    tpl = exp.trial_template
    name = trial_obj["metadata"]["name"]
    index = int(trial_obj["spec"]["index"])
    port = int(tpl.get("metricsPort", 9090))
    own, parent = checkpoint_dirs(exp, trials[index])
    env = trial_env(exp, trials[index], seed=int(trial_obj["spec"]["seed"]), metrics_port=port,
                    checkpoint_dir=own, resume_from=parent,
                    export_dir=export_dir(exp, name) if exp.export.dir else None)
    spec = copy.deepcopy(tpl.get("podSpec") or {})
    containers = spec.setdefault("containers", [])
    trainer = next((c for c in containers if c.get("name") == CONTAINER),
                   containers[0] if containers else None)
    if trainer is None:
        trainer = {"name": CONTAINER}
        containers.append(trainer)
    trainer["image"] = tpl.get("image") or trainer.get("image") or default_image
    trainer["ports"] = [*(trainer.get("ports") or []),
                        {"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    trainer["env"] = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                      *({"name": k, "value": v} for k, v in env.items()),
                      *(tpl.get("env") or []), *(trainer.get("env") or [])]
    for key in ("envFrom", "volumeMounts"):
        merged = [*(trainer.get(key) or []), *(tpl.get(key) or [])]
        if merged:
            trainer[key] = merged
    for key in ("command", "args", "resources"):
        if tpl.get(key):
            trainer[key] = tpl[key]
    trainer.setdefault("securityContext", CONTAINER_SECURITY)
    trainer.setdefault("terminationMessagePolicy", "FallbackToLogsOnError")
    for key, value in (("automountServiceAccountToken", False),
                       ("securityContext", POD_SECURITY), ("enableServiceLinks", False),
                       ("terminationGracePeriodSeconds", TERMINATION_GRACE_S)):
        spec.setdefault(key, value)
    spec["restartPolicy"] = "Never"  # attempts are the operator's, not the kubelet's
    for key in ("volumes", "imagePullSecrets"):
        merged = [*(spec.get(key) or []), *(tpl.get(key) or [])]
        if merged:
            spec[key] = merged
    spec.update({k: tpl[k] for k in PASSTHROUGH if tpl.get(k)})
    if exp.budget.trial_timeout_s is not None:
        spec["activeDeadlineSeconds"] = max(1, int(exp.budget.trial_timeout_s))
    pod_labels: dict[str, Any] = {**(tpl.get("labels") or {}), **labels(exp.name, name)}
    if tpl.get("queueName"):
        pod_labels[QUEUE_LABEL] = tpl["queueName"]
    annotations = {**(tpl.get("annotations") or {}), "prometheus.io/scrape": "true",
                   "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    return {"labels": pod_labels, "annotations": annotations}, spec
