"""ResourceQuota: what pods and objects use (the quota evaluators) and the admission check.

Usage follows `pkg/quota/v1/evaluator/core/pods.go`: `count/pods` counts every pod in
storage; `pods`, `cpu`/`requests.cpu`, `memory`/`requests.memory`, `limits.cpu`,
`limits.memory`, ephemeral storage and `requests.<extended resource>` (e.g.
`requests.nvidia.com/gpu`) count pods that are not Succeeded or Failed (nor terminating past
their grace period). Requests are the containers' sum, at least the largest init
container's, plus `spec.overhead`. Every other namespaced kind has an object count,
`count/<plural>[.<group>]` (and the legacy names `configmaps`, `secrets`, `services`,
`persistentvolumeclaims`, `resourcequotas`, `replicationcontrollers`); events are not
counted. Scopes: Terminating, NotTerminating, BestEffort, NotBestEffort and PriorityClass.

Admission is `CheckRequest` of the resourcequota plugin: a quota that tracks cpu or memory
needs every container to state it (`failed quota: q: must specify limits.memory for: main`),
and a create that would take usage past `hard` is 403
`pods "p" is forbidden: exceeded quota: q, requested: ..., used: ..., limited: ...`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .errors import ApiError
from .quantity import ZERO, Quantity, QuantityError, parse
from .resources import Registry, ResourceType

Obj = dict[str, Any]
Usage = dict[str, Quantity]

_POD_RESOURCES = {"count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu",
                  "requests.memory", "requests.ephemeral-storage", "limits.cpu",
                  "limits.memory", "limits.ephemeral-storage", "pods"}
_VALIDATION_SET = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
                   "limits.memory"}
_NATIVE = ("kubernetes.io/", "requests.kubernetes.io/")
_LEGACY_COUNTS = {("", "configmaps"): "configmaps", ("", "secrets"): "secrets",
                  ("", "services"): "services",
                  ("", "persistentvolumeclaims"): "persistentvolumeclaims",
                  ("", "resourcequotas"): "resourcequotas",
                  ("", "replicationcontrollers"): "replicationcontrollers"}
_IGNORED = {("", "events"), ("events.k8s.io", "events")}
TERMINAL = ("Succeeded", "Failed")


def count_name(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def _is_native(name: str) -> bool:
    return "/" not in name or name.startswith(_NATIVE)


def _is_extended(name: str) -> bool:
    """`helper.IsExtendedResourceName`: a qualified name outside kubernetes.io."""
    return not _is_native(name) and not name.startswith("requests.") and "/" in name


def _quantities(values: Any) -> Usage:
    out: Usage = {}
    for key, value in (values or {}).items():
        try:
            out[key] = parse(value)
        except QuantityError:
            continue
    return out


def _add(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def _max(a: Usage, b: Usage) -> Usage:
    out = dict(a)
    for key, value in b.items():
        if key not in out or value.value > out[key].value:
            out[key] = value
    return out


def _container_resources(container: Obj, which: str) -> Usage:
    return _quantities((container.get("resources") or {}).get(which))


def _sidecar(container: Obj) -> bool:
    return container.get("restartPolicy") == "Always"


def pod_totals(pod: Obj, which: str) -> Usage:
    """`resourcehelper.PodRequests`/`PodLimits`: containers and sidecars summed, at least the
    largest regular init container (plus the sidecars started before it), plus overhead."""
    spec = pod.get("spec") or {}
    total: Usage = {}
    for c in spec.get("containers") or []:
        total = _add(total, _container_resources(c, which))
    init_max: Usage = {}
    sidecars: Usage = {}
    for c in spec.get("initContainers") or []:
        resources = _container_resources(c, which)
        if _sidecar(c):
            sidecars = _add(sidecars, resources)
            init_max = _max(init_max, sidecars)
        else:
            init_max = _max(init_max, _add(resources, sidecars))
    total = _max(_add(total, sidecars), init_max)
    overhead = _quantities(spec.get("overhead"))
    if overhead and (which == "requests" or total):
        total = _add(total, overhead)
    return total


def _compute_usage(requests: Usage, limits: Usage) -> Usage:
    """`podComputeUsageHelper`."""
    usage: Usage = {"pods": Quantity(Decimal(1))}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            usage[name] = requests[name]
            usage[f"requests.{name}"] = requests[name]
        if name in limits:
            usage[f"limits.{name}"] = limits[name]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            usage[name] = value
            usage[f"requests.{name}"] = value
        if _is_extended(name):
            usage[f"requests.{name}"] = value
    return usage


def counts_for_compute(pod: Obj, at: datetime | None = None) -> bool:
    """`QuotaV1Pod`: not terminal, and not terminating past its grace period."""
    if (pod.get("status") or {}).get("phase") in TERMINAL:
        return False
    meta = pod["metadata"]
    if meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds") is not None:
        deleted = datetime.fromisoformat(meta["deletionTimestamp"].replace("Z", "+00:00"))
        grace = timedelta(seconds=int(meta["deletionGracePeriodSeconds"]))
        if (at or datetime.now(UTC)) > deleted + grace:
            return False
    return True


def pod_usage(pod: Obj) -> Usage:
    usage: Usage = {"count/pods": Quantity(Decimal(1))}
    if not counts_for_compute(pod):
        return usage
    return {**usage, **_compute_usage(pod_totals(pod, "requests"), pod_totals(pod, "limits"))}


def qos_class(pod: Obj) -> str:
    """`qos.GetPodQOS`: only cpu and memory decide."""
    spec = pod.get("spec") or {}
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        requests = {k: v for k, v in (res.get("requests") or {}).items() if k in ("cpu", "memory")}
        limits = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        if any(parse_or_zero(v).value != 0 for v in [*requests.values(), *limits.values()]):
            any_set = True
        if set(limits) != {"cpu", "memory"}:
            guaranteed = False
        for k, v in requests.items():
            if k in limits and parse_or_zero(v).value != parse_or_zero(limits[k]).value:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def parse_or_zero(value: Any) -> Quantity:
    try:
        return parse(value)
    except QuantityError:
        return ZERO


# ---- scopes -------------------------------------------------------------------------------
def _scope_selectors(rq: Obj) -> list[Obj]:
    spec = rq.get("spec") or {}
    out = [{"scopeName": s, "operator": "Exists"} for s in spec.get("scopes") or []]
    return out + list(((spec.get("scopeSelector") or {}).get("matchExpressions")) or [])


def _pod_matches_scope(selector: Obj, pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    name = selector.get("scopeName")
    terminating = isinstance(spec.get("activeDeadlineSeconds"), int) and \
        spec["activeDeadlineSeconds"] >= 0
    if name == "Terminating":
        return terminating
    if name == "NotTerminating":
        return not terminating
    if name == "BestEffort":
        return qos_class(pod) == "BestEffort"
    if name == "NotBestEffort":
        return qos_class(pod) != "BestEffort"
    if name == "PriorityClass":
        value = spec.get("priorityClassName", "")
        op, values = selector.get("operator"), selector.get("values") or []
        if op == "Exists":
            return bool(value)
        if op == "DoesNotExist":
            return not value
        if op == "In":
            return bool(value) and value in values
        if op == "NotIn":
            return not value or value not in values
    return False


def _matching_resources(names: list[str], pods: bool, count: str, legacy: str | None
                        ) -> list[str]:
    if not pods:
        return [n for n in names if n in (count, legacy)]
    return [n for n in names if n in _POD_RESOURCES or n.startswith(
        ("hugepages-", "requests.hugepages-")) or (n.startswith("requests.") and not
                                                    _is_native(n[len("requests."):]))]


def _hard(rq: Obj) -> Usage:
    return _quantities((rq.get("status") or {}).get("hard") or (rq.get("spec") or {}).get("hard"))


# ---- status (the resource quota controller) ------------------------------------------------
def status(rq: Obj, objects: list[tuple[tuple[str, str], Obj]], registry: Registry) -> Obj:
    """`status.hard` from the spec and `status.used` for every hard resource it can count."""
    hard = _quantities((rq.get("spec") or {}).get("hard"))
    names = sorted(hard)
    selectors = _scope_selectors(rq)
    used: Usage = {}
    pod_names = _matching_resources(names, True, "count/pods", None)
    for name in pod_names:
        used[name] = ZERO
    for tkey, obj in objects:
        if tkey == ("", "pods"):
            if all(_pod_matches_scope(s, obj) for s in selectors):
                usage = pod_usage(obj)
                used = _add(used, {k: v for k, v in usage.items() if k in pod_names})
            continue
        if selectors or tkey in _IGNORED:
            continue
        count, legacy = count_name(*tkey), _LEGACY_COUNTS.get(tkey)
        for name in (count, legacy):
            if name in hard:
                used[name] = used.get(name, ZERO) + Quantity(Decimal(1))
    for legacy in _LEGACY_COUNTS.values():
        if legacy in hard and not selectors:
            used.setdefault(legacy, ZERO)
    for name in names:
        if name.startswith("count/") and not selectors and _counted_kind(name, registry):
            used.setdefault(name, ZERO)
    return {"hard": {k: str(hard[k]) for k in names},
            "used": {k: str(used[k]) for k in sorted(used)}}


def _counted_kind(name: str, registry: Registry) -> bool:
    plural, _, group = name[len("count/"):].partition(".")
    return any(rt.plural == plural and rt.group == group for rt in registry.all())


# ---- admission ----------------------------------------------------------------------------
def _pretty(usage: Usage) -> str:
    return ",".join(f"{k}={usage[k]}" for k in sorted(usage))


def _constraints(restricted: list[str], pod: Obj) -> str | None:
    """`podEvaluator.Constraints`: containers must state the cpu/memory a quota tracks."""
    required = set(restricted) & _VALIDATION_SET
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        usage = _compute_usage(_container_resources(c, "requests"),
                               _container_resources(c, "limits"))
        for name in required - set(usage):
            missing.setdefault(name, set()).add(c.get("name", ""))
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


def admit_create(rt: ResourceType, obj: Obj, quotas: list[Obj]) -> None:
    """Refuse a create that a quota of its namespace does not allow (403 Forbidden)."""
    tkey = rt.store_key
    if tkey in _IGNORED or not quotas:
        return
    name = obj["metadata"].get("name", "")
    qualified = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    is_pod = tkey == ("", "pods")
    count, legacy = count_name(*tkey), _LEGACY_COUNTS.get(tkey)

    def forbidden(why: str) -> ApiError:
        return ApiError(403, f'{qualified} "{name}" is forbidden: {why}',
                        details={"name": name, "group": rt.group, "kind": rt.plural})

    if is_pod:
        usage = pod_usage(obj)
    else:
        usage = {count: Quantity(Decimal(1))}
        if legacy:
            usage[legacy] = Quantity(Decimal(1))
    interesting = []
    for rq in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        selectors = _scope_selectors(rq)
        if is_pod and not all(_pod_matches_scope(s, obj) for s in selectors):
            continue
        if not is_pod and selectors:
            continue
        hard = _hard(rq)
        restricted = _matching_resources(sorted(hard), is_pod, count, legacy)
        if not restricted:
            continue
        if is_pod and (problem := _constraints(restricted, obj)):
            raise forbidden(f"failed quota: {rq['metadata']['name']}: {problem}")
        used = _quantities((rq.get("status") or {}).get("used"))
        unknown = [r for r in restricted if r not in used]
        if unknown:
            raise forbidden(f"status unknown for quota: {rq['metadata']['name']}, resources: "
                            f"{','.join(sorted(unknown))}")
        interesting.append((rq, hard, used))
    negative = sorted(k for k, v in usage.items() if v.value < 0)
    if negative:
        raise forbidden(f"quota usage is negative for resource(s): {','.join(negative)}")
    for rq, hard, used in interesting:
        requested = {k: v for k, v in usage.items() if k in hard and v.value != 0}
        if not requested:
            continue
        exceeded = sorted(k for k, v in requested.items()
                          if (used.get(k, ZERO) + v).value > hard[k].value)
        if exceeded:
            raise forbidden(
                f"exceeded quota: {rq['metadata']['name']}, "
                f"requested: {_pretty({k: requested[k] for k in exceeded})}, "
                f"used: {_pretty({k: used.get(k, ZERO) for k in exceeded})}, "
                f"limited: {_pretty({k: hard[k] for k in exceeded})}")


def normalise_hard(rq: Obj) -> None:
    """`spec.hard` is a ResourceList: quantities, written back in canonical form."""
    hard = (rq.get("spec") or {}).get("hard")
    if not isinstance(hard, dict):
        return
    for key, value in list(hard.items()):
        try:
            hard[key] = str(parse(value))
        except QuantityError as err:
            raise ApiError(400, f'ResourceQuota in version "v1" cannot be handled as a '
                                f"ResourceQuota: {err}") from None
