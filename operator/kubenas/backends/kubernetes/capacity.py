"""GPU-aware parallelism: how many trials fit on the GPUs of the nodes they may land on.

Without it, a search with maxParallelTrials above the free GPUs piles up Pending pods that
hold nothing but confuse queueing. The count is the GPUs allocatable on ready nodes that
match the template's nodeSelector and whose taints it tolerates, minus the GPUs held there by
pods other than this experiment's active trials.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from kubenas.backends.kubernetes.objects import Obj
from kubenas.backends.kubernetes.pods import GPU, gpus_per_trial

TERMINAL = ("Succeeded", "Failed")


def tolerates(tolerations: Iterable[Obj], taint: Obj) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def node_matches(node: Obj, template: Obj) -> bool:
    meta, spec = node["metadata"], node.get("spec") or {}
    node_labels = meta.get("labels") or {}
    if any(node_labels.get(k) != v for k, v in (template.get("nodeSelector") or {}).items()):
        return False
    if spec.get("unschedulable"):
        return False
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in (node.get("status") or {}).get("conditions") or [])
    hard = [t for t in spec.get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")]
    return ready and all(tolerates(template.get("tolerations") or [], t) for t in hard)


def pod_gpus(pod: Obj) -> int:
    total = 0
    for c in pod["spec"].get("containers") or []:
        res = c.get("resources") or {}
        value = (res.get("requests") or {}).get(GPU) or (res.get("limits") or {}).get(GPU)
        total += int(value or 0)
    return total


def gpu_capacity(template: Obj, nodes: Iterable[Obj], pods: Iterable[Obj],
                 own: Collection[tuple[str, str]]) -> int | None:
    """Trials that may be active at once, or None when trials ask for no GPU.

    `own` holds (namespace, name) of this experiment's pods for active trials; they are the ones the
    capacity is for, so they do not count as taken.
    """
    per_trial = gpus_per_trial(template)
    if per_trial <= 0:
        return None
    names = {n["metadata"]["name"] for n in nodes if node_matches(n, template)}
    allocatable = sum(int(((n.get("status") or {}).get("allocatable") or {}).get(GPU, 0))
                      for n in nodes if n["metadata"]["name"] in names)
    used = sum(pod_gpus(p) for p in pods
               if p["spec"].get("nodeName") in names
               and (p.get("status") or {}).get("phase") not in TERMINAL
               and (p["metadata"].get("namespace"), p["metadata"]["name"]) not in own)
    return max(0, allocatable - used) // per_trial
