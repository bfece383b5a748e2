"""Per-kind behaviour of built-in resources on create and update (defaults, controllers).

Only what clients of this project observe: pod defaults (requests from limits, the QoS
class) and the Pending phase, namespace phases, and the CRD "controller" that accepts names
and marks a CRD Established at once.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, invalid
from .quota import qos_class
from .resources import ResourceType

Obj = dict[str, Any]


def _pod_defaults(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", spec.get("serviceAccount", "default"))
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        image = c.get("image", "")
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        resources = c.setdefault("resources", {})
        # SetDefaults_Pod: a limit without a request defaults the request to the limit.
        limits = resources.get("limits") or {}
        if limits:
            requests = resources.setdefault("requests", {})
            for name, value in limits.items():
                requests.setdefault(name, value)


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


def prepare_update(rt: ResourceType, old: Obj, new: Obj) -> None:
    if rt.group == "apiextensions.k8s.io" and rt.plural == "customresourcedefinitions":
        if new["spec"].get("group") != old["spec"].get("group"):
            raise ApiError(422, "spec.group: Invalid value: field is immutable")
        _crd_accept(new, old)
    elif rt.group == "" and rt.plural == "pods":
        _pod_defaults(new)


def is_terminal_pod(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
