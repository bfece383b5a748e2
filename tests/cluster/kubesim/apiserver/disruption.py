"""PodDisruptionBudgets: the disruption controller's status, and the Eviction API's checks.

The status is what `pkg/controller/disruption` computes, kept current synchronously (see
`controllers.py`): `expectedPods` is the number of selected pods for an integer
`minAvailable`, else the summed scale of their controllers (ReplicaSet, Deployment through
its ReplicaSet, StatefulSet; pods without a controller are skipped, as the real controller
skips "unmanaged" pods); `currentHealthy` counts selected pods that are Ready and not being
deleted; `disruptionsAllowed = currentHealthy - desiredHealthy`, never below 0 and 0 while
no pod is expected. A controller that cannot be scaled fails the sync the way `failSafe`
does: `disruptionsAllowed` 0 and `DisruptionAllowed=False` with reason `SyncFailed`.

The eviction side follows `pkg/registry/core/pod/storage/eviction.go`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .errors import ApiError
from .options import now
from .selectors import selector_is_empty, selector_matches

Obj = dict[str, Any]
# (kind, namespace, name, uid) -> the controller object, or None when there is none.
FindController = Callable[[str, str, str, str], Obj | None]
# kind -> "<plural>.<group>" when the API serves that kind, for the scale error.
ResourceOfKind = Callable[[str, str], str | None]


class SyncFailed(Exception):
    pass


def pdb_pods(pdb: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods a budget selects; an empty or invalid selector selects none."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector_is_empty(selector):
        return []
    return [p for p in pods if selector_matches(selector, p["metadata"].get("labels"))]


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _controller_ref(obj: Obj) -> Obj | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or []
                 if r.get("controller")), None)


def _scaled(value: Any, total: int) -> int:
    """`intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)`."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise SyncFailed("invalid value for IntOrString: invalid type: string is not a "
                         "percentage")
    return math.ceil(int(text[:-1]) * total / 100)


def _expected_scale(pods: list[Obj], find: FindController, resource: ResourceOfKind) -> int:
    """`getExpectedScale`: the summed replicas of the selected pods' controllers."""
    scales: dict[str, int] = {}
    for pod in pods:
        ref = _controller_ref(pod)
        if ref is None:
            continue  # unmanaged: the real controller warns and skips it
        if ref["uid"] in scales:
            continue
        ns = pod["metadata"]["namespace"]
        owner, scale = _scale_of(ref, ns, find, resource)
        if owner is None:
            raise SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
        scales[owner] = scale
    return sum(scales.values())


def _scale_of(ref: Obj, ns: str, find: FindController,
              resource: ResourceOfKind) -> tuple[str | None, int]:
    kind, name, uid = ref.get("kind", ""), ref.get("name", ""), ref.get("uid", "")
    group = ref.get("apiVersion", "").rpartition("/")[0]
    if kind == "ReplicaSet" and group == "apps":
        rs = find(kind, ns, name, uid)
        if rs is None:
            return None, 0
        parent = _controller_ref(rs)
        if parent is not None and parent.get("kind") == "Deployment":
            deployment = find("Deployment", ns, parent["name"], parent["uid"])
            if deployment is None:
                return None, 0
            return deployment["metadata"]["uid"], _replicas(deployment)
        return rs["metadata"]["uid"], _replicas(rs)
    if kind == "StatefulSet" and group == "apps":
        sts = find(kind, ns, name, uid)
        return (None, 0) if sts is None else (sts["metadata"]["uid"], _replicas(sts))
    served = resource(group, kind)
    if served is None:
        raise SyncFailed(f'no matches for kind "{kind}" in group "{group}"')
    raise SyncFailed(f"{served} does not implement the scale subresource")


def _replicas(obj: Obj) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def compute_status(pdb: Obj, pods: list[Obj], find: FindController,
                   resource: ResourceOfKind) -> Obj:
    """The status the disruption controller would write for `pdb` now."""
    old = pdb.get("status") or {}
    generation = pdb["metadata"].get("generation", 1)
    spec = pdb.get("spec") or {}
    selected = pdb_pods(pdb, pods)
    try:
        if spec.get("maxUnavailable") is not None:
            expected = _expected_scale(selected, find, resource)
            desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
        elif spec.get("minAvailable") is not None and isinstance(spec["minAvailable"], int):
            expected, desired = len(selected), spec["minAvailable"]
        elif spec.get("minAvailable") is not None:
            expected = _expected_scale(selected, find, resource)
            desired = _scaled(spec["minAvailable"], expected)
        else:
            expected, desired = 0, 0
    except SyncFailed as err:
        status = dict(old)
        status["disruptionsAllowed"] = 0
        status["conditions"] = _set_condition(old.get("conditions"), "False", "SyncFailed",
                                              str(err), old.get("observedGeneration", 0))
        return status
    healthy = sum(1 for p in selected
                  if not p["metadata"].get("deletionTimestamp") and pod_ready(p))
    allowed = healthy - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    sufficient = allowed > 0
    return {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": _set_condition(old.get("conditions"), "True" if sufficient else "False",
                                     "SufficientPods" if sufficient else "InsufficientPods", "",
                                     generation),
    }


def _set_condition(conditions: list[Obj] | None, status: str, reason: str, message: str,
                   generation: int) -> list[Obj]:
    """`apimeta.SetStatusCondition` for the `DisruptionAllowed` condition."""
    old = next((c for c in conditions or [] if c.get("type") == "DisruptionAllowed"), None)
    changed = old is None or old.get("status") != status
    return [{"type": "DisruptionAllowed", "status": status, "reason": reason,
             "message": message, "observedGeneration": generation,
             "lastTransitionTime": now() if changed else old["lastTransitionTime"]}]


# ---- the Eviction API ------------------------------------------------------------------------
EVICTION_CONDITION = {"type": "DisruptionTarget", "status": "True",
                      "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."


def can_ignore_pdb(pod: Obj) -> bool:
    """Terminal, pending or already terminating pods are deleted without asking budgets."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(
        pod["metadata"].get("deletionTimestamp"))


def check_budget(pod: Obj, pdb: Obj) -> bool:
    """Raise the refusal a budget gives, or say whether the eviction spends a disruption.

    False: the pod is not ready and the budget can spare it without spending one
    (`unhealthyPodEvictionPolicy: AlwaysAllow`, or the default `IfHealthyBudget` while the
    budget is met).
    """
    status = pdb.get("status") or {}
    name = pdb["metadata"]["name"]
    ready = pod_ready(pod)
    policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
    if not ready and policy == "AlwaysAllow":
        return False
    desired = status.get("desiredHealthy", 0)
    if not ready and status.get("currentHealthy", 0) >= desired and desired > 0:
        return False
    if status.get("observedGeneration", 0) < pdb["metadata"].get("generation", 1):
        raise ApiError(429, TOO_MANY, details={"causes": [{
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {name} is still being processed by the server."}],
            "retryAfterSeconds": 10}, headers={"Retry-After": "10"})
    allowed = status.get("disruptionsAllowed", 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if allowed == 0:
        raise ApiError(429, TOO_MANY, details={"causes": [{
            "reason": "DisruptionBudget",
            "message": f"The disruption budget {name} needs {desired} healthy pods and has "
                       f"{status.get('currentHealthy', 0)} currently"}]})
    return True


def _forbidden(name: str, why: str) -> ApiError:
    return ApiError(403, f'poddisruptionbudgets.policy "{name}" is forbidden: {why}',
                    details={"name": name, "group": "policy", "kind": "poddisruptionbudgets"})
