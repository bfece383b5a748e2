"""The default scheduler's filters, bin-packing against node allocatable.

Pure functions over API objects, so the rules can be tested without a server. Filters run in
the real scheduler's order and a node is rejected by the first one that fails, which keeps the
`0/N nodes are available: ...` message the same as the real one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from kubernetes.utils import parse_quantity

from .client import Obj

SCHEDULER_NAMES = {"", "default-scheduler"}
TERMINAL_PHASES = {"Succeeded", "Failed"}
FILTERED_EFFECTS = {"NoSchedule", "NoExecute"}

Resources = dict[str, Decimal]


@dataclass(frozen=True)
class Decision:
    pod: Obj
    node: str | None  # None: unschedulable, see message
    message: str = ""


def container_requests(container: Obj) -> Resources:
    # The API server defaults requests to limits; a bare object may not have been defaulted.
    res = container.get("resources") or {}
    merged = (res.get("limits") or {}) | (res.get("requests") or {})
    return {name: parse_quantity(value) for name, value in merged.items()}


def pod_requests(pod: Obj) -> Resources:
    """Sum over containers, at least the largest init container, plus one `pods` slot."""
    spec = pod.get("spec") or {}
    total: Resources = {"pods": Decimal(1)}
    for container in spec.get("containers") or []:
        for name, value in container_requests(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for name, value in container_requests(container).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    return total


def occupies_node(pod: Obj) -> bool:
    return bool(pod["spec"].get("nodeName")) and (
        (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES
    )


def needs_scheduling(pod: Obj) -> bool:
    spec = pod["spec"]
    return (
        not spec.get("nodeName")
        and not pod["metadata"].get("deletionTimestamp")
        and spec.get("schedulerName", "") in SCHEDULER_NAMES
        and (pod.get("status") or {}).get("phase", "Pending") == "Pending"
    )


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _expression_matches(expr: Obj, values: dict[str, str]) -> bool:
    op, key, wanted = expr["operator"], expr["key"], expr.get("values") or []
    present = key in values
    if op == "In":
        return present and values[key] in wanted
    if op == "NotIn":
        return not present or values[key] not in wanted
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and values[key].lstrip("-").isdigit():
        number, bound = int(values[key]), int(wanted[0])
        return number > bound if op == "Gt" else number < bound
    return False


def matches_affinity(pod: Obj, node: Obj) -> bool:
    spec, labels = pod["spec"], node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        )
        or {}
    )
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(
        all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
        and all(_expression_matches(e, fields) for e in term.get("matchFields") or [])
        for term in terms
    )


def filter_reasons(pod: Obj, node: Obj, used: Resources) -> list[str]:
    """Why `pod` cannot go to `node` (empty: it fits), as the scheduler words it."""
    if node["spec"].get("unschedulable"):
        return ["node(s) were unschedulable"]
    tolerations = pod["spec"].get("tolerations") or []
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") in FILTERED_EFFECTS and not tolerates(tolerations, taint):
            return [f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"]
    if not matches_affinity(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    allocatable = {
        name: parse_quantity(value)
        for name, value in (node.get("status") or {}).get("allocatable", {}).items()
    }
    reasons = []
    for name, wanted in sorted(pod_requests(pod).items()):
        if wanted and used.get(name, Decimal(0)) + wanted > allocatable.get(name, Decimal(0)):
            reasons.append("Too many pods" if name == "pods" else f"Insufficient {name}")
    return reasons


def _free_fraction(node: Obj, used: Resources) -> Decimal:
    """Least-allocated scoring on cpu and memory: prefer the emptiest node."""
    allocatable = node["status"].get("allocatable", {})
    score = Decimal(0)
    for name in ("cpu", "memory"):
        total = parse_quantity(allocatable.get(name, "0"))
        if total:
            score += (total - used.get(name, Decimal(0))) / total
    return score


def schedule(pods: list[Obj], nodes: list[Obj]) -> list[Decision]:
    """Places pending pods in creation order, counting each placement against later ones."""
    used: dict[str, Resources] = {n["metadata"]["name"]: {} for n in nodes}
    for pod in pods:
        node_used = used.get(pod["spec"].get("nodeName", ""))
        if node_used is not None and occupies_node(pod):
            for name, value in pod_requests(pod).items():
                node_used[name] = node_used.get(name, Decimal(0)) + value
    decisions = []
    pending = sorted(
        filter(needs_scheduling, pods), key=lambda p: p["metadata"].get("creationTimestamp", "")
    )
    for pod in pending:
        histogram: Counter[str] = Counter()
        feasible = []
        for node in nodes:
            reasons = filter_reasons(pod, node, used[node["metadata"]["name"]])
            histogram.update(reasons)
            if not reasons:
                feasible.append(node)
        if not feasible:
            summary = ", ".join(sorted(f"{count} {reason}" for reason, count in histogram.items()))
            message = f"0/{len(nodes)} nodes are available: {summary}."
            decisions.append(Decision(pod, None, message))
            continue
        best = min(
            feasible,
            key=lambda n: (-_free_fraction(n, used[n["metadata"]["name"]]), n["metadata"]["name"]),
        )
        chosen = used[best["metadata"]["name"]]
        for name, value in pod_requests(pod).items():
            chosen[name] = chosen.get(name, Decimal(0)) + value
        decisions.append(Decision(pod, best["metadata"]["name"]))
    return decisions
