"""Render a trial's Pod from `spec.trialTemplate`.

The pod is the trial contract (docs/trial-contract.md) as Kubernetes objects: env vars,
a metrics port Prometheus discovers, and a termination message the operator reads back.
Defaults follow the restricted Pod Security Standard; scheduling fields pass through.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.backends.contract import trial_env
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
               "runtimeClassName", "serviceAccountName", "volumes")


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
    """The Pod for `attempt` of the trial `trial_obj` (a NASTrial with metadata.uid)."""
    tpl = exp.trial_template
    name = trial_obj["metadata"]["name"]
    index = int(trial_obj["spec"]["index"])
    port = int(tpl.get("metricsPort", 9090))
    own, parent = checkpoint_dirs(exp, trials[index])
    env = trial_env(exp, trials[index], seed=int(trial_obj["spec"]["seed"]), metrics_port=port,
                    checkpoint_dir=own, resume_from=parent)
    container: Obj = {
        "name": CONTAINER,
        "image": tpl.get("image") or default_image,
        "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                *({"name": k, "value": v} for k, v in env.items()),
                *(tpl.get("env") or [])],
        "securityContext": CONTAINER_SECURITY,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    for key in ("command", "args", "resources", "volumeMounts"):
        if tpl.get(key):
            container[key] = tpl[key]
    spec: Obj = {"containers": [container], "restartPolicy": "Never",
                 "automountServiceAccountToken": False, "securityContext": POD_SECURITY,
                 "enableServiceLinks": False,
                 "terminationGracePeriodSeconds": TERMINATION_GRACE_S}
    spec.update({k: tpl[k] for k in PASSTHROUGH if tpl.get(k)})
    if exp.budget.trial_timeout_s is not None:
        spec["activeDeadlineSeconds"] = max(1, int(exp.budget.trial_timeout_s))
    pod_labels: dict[str, Any] = {**(tpl.get("labels") or {}), **labels(exp.name, name)}
    if tpl.get("queueName"):
        pod_labels[QUEUE_LABEL] = tpl["queueName"]
    annotations = {**(tpl.get("annotations") or {}), "prometheus.io/scrape": "true",
                   "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name(name, attempt), "namespace": exp.namespace,
                         "labels": pod_labels, "annotations": annotations,
                         "ownerReferences": [owner_reference(trial_obj)]},
            "spec": spec}
