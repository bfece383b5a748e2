"""Per-kind behaviour of built-in resources on create and update (defaults, controllers).

Only what clients of this project observe: pod defaults (requests from limits, the QoS
class) and the Pending phase, Job defaults and generated selectors, namespace phases, and
the CRD "controller" that accepts names and marks a CRD Established at once.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, invalid
from .quota import qos_class
from .resources import ResourceType

Obj = dict[str, Any]


def _pod_spec_defaults(spec: Obj) -> None:
    """SetDefaults_PodSpec and the container defaults: pods and pod templates alike."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        image = c.get("image", "")
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})


def _pod_defaults(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    _pod_spec_defaults(spec)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        resources = c["resources"]
        # SetDefaults_Pod: a limit without a request defaults the request to the limit.
        limits = resources.get("limits") or {}
        if limits:
            requests = resources.setdefault("requests", {})
            for name, value in limits.items():
                requests.setdefault(name, value)


JOB_NAME = "batch.kubernetes.io/job-name"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"


def _job_defaults(job: Obj) -> None:
    """SetDefaults_Job, then the job strategy's PrepareForCreate (generated selector)."""
    spec = job.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    template = spec.setdefault("template", {})
    template_meta = template.setdefault("metadata", {}) or {}
    template["metadata"] = template_meta
    if template_meta.get("labels") and not job["metadata"].get("labels"):
        job["metadata"]["labels"] = dict(template_meta["labels"])
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy",
                    "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    spec.setdefault("manualSelector", None)
    if spec["manualSelector"] is None:
        del spec["manualSelector"]
    _pod_spec_defaults(template.setdefault("spec", {}))
    if not spec.get("manualSelector"):
        labels = template_meta.setdefault("labels", {})
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        for key, value in (("batch.kubernetes.io/controller-uid", uid), ("controller-uid", uid),
                           ("batch.kubernetes.io/job-name", name), ("job-name", name)):
            labels.setdefault(key, value)
        selector = spec.setdefault("selector", {})
        selector.setdefault("matchLabels", {}).setdefault(CONTROLLER_UID, uid)
    job["status"] = {}


def job_causes(job: Obj) -> list[dict[str, str]]:
    """The parts of ValidateJob that clients trip over."""
    spec = job["spec"]
    causes = []
    policy = spec["template"]["spec"].get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append({"field": "spec.template.spec.restartPolicy",
                       "reason": "FieldValueNotSupported",
                       "message": f'Unsupported value: "{policy}": supported values: '
                                  '"OnFailure", "Never"'})
    for key in ("parallelism", "completions", "backoffLimit"):
        value = spec.get(key)
        if isinstance(value, int) and value < 0:
            causes.append({"field": f"spec.{key}", "reason": "FieldValueInvalid",
                           "message": f"Invalid value: {value}: must be greater than or "
                                      "equal to 0"})
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= 0:
        causes.append({"field": "spec.activeDeadlineSeconds", "reason": "FieldValueInvalid",
                       "message": f"Invalid value: {deadline}: must be greater than 0"})
    if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
        causes.append({"field": "spec.completions", "reason": "FieldValueRequired",
                       "message": "Required value: when completion mode is Indexed"})
    if spec.get("completionMode") not in ("NonIndexed", "Indexed"):
        causes.append({"field": "spec.completionMode", "reason": "FieldValueNotSupported",
                       "message": f'Unsupported value: "{spec.get("completionMode")}": '
                                  'supported values: "NonIndexed", "Indexed"'})
    name = job["metadata"]["name"]
    if len(name) > 63:
        causes.append({"field": "spec.template.labels", "reason": "FieldValueInvalid",
                       "message": f'Invalid value: "{name}": must be no more than 63 '
                                  "characters"})
    return causes


def _crd_accept(crd: Obj, old: Obj | None) -> None:
    """What the apiextensions controllers do, done synchronously: names accepted, Established."""
    spec = crd["spec"]
    names = spec["names"]
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", names["kind"] + "List")
    expected = f"{names['plural']}.{spec['group']}"
    if crd["metadata"]["name"] != expected:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", crd["metadata"]["name"], [
            {"field": "metadata.name", "reason": "FieldValueInvalid",
             "message": f'Invalid value: "{crd["metadata"]["name"]}": must be '
                        f'spec.names.plural+"."+spec.group'}])
    storage = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
    if len(storage) != 1:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", crd["metadata"]["name"], [
            {"field": "spec.versions", "reason": "FieldValueInvalid",
             "message": "Invalid value: \"array\": must have exactly one version marked as "
                        "storage version"}])
    now = crd["metadata"]["creationTimestamp"]
    stored = list(((old or {}).get("status") or {}).get("storedVersions") or [])
    crd["status"] = {
        "acceptedNames": copy.deepcopy(names),
        "storedVersions": stored + [v for v in storage if v not in stored],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    }


def prepare_create(rt: ResourceType, obj: Obj) -> None:
    if rt.crd:
        if rt.has_status:
            obj.pop("status", None)
        return
    if rt.group == "" and rt.plural == "pods":
        _pod_defaults(obj)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}
    elif rt.group == "" and rt.plural == "namespaces":
        obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
        labels = obj["metadata"].setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif rt.group == "apiextensions.k8s.io":
        _crd_accept(obj, None)
    elif rt.group == "apps" and rt.has_status:
        obj["status"] = {}
    elif rt.group == "batch" and rt.plural == "jobs":
        _job_defaults(obj)


def prepare_update(rt: ResourceType, old: Obj, new: Obj) -> None:
    if rt.group == "apiextensions.k8s.io" and rt.plural == "customresourcedefinitions":
        if new["spec"].get("group") != old["spec"].get("group"):
            raise ApiError(422, "spec.group: Invalid value: field is immutable")
        _crd_accept(new, old)
    elif rt.group == "" and rt.plural == "pods":
        _pod_defaults(new)


def is_terminal_pod(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
