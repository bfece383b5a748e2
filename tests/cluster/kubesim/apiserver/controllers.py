"""Status that kube-controller-manager keeps current, kept current here inside the write.

A real cluster's disruption controller (PodDisruptionBudget status) and resource quota
controller (ResourceQuota `status.used`) watch pods and recompute status shortly after each
change. Here they run synchronously after every write to the objects they read, so a test
that changes a pod sees the budget's or quota's new status at once, and so the Eviction API
and quota admission always decide on current numbers. Status writes go straight to the
store; a write that changes nothing is skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import disruption, quota
from .store import Obj, TypeKey

if TYPE_CHECKING:
    from .api import ObjectApi

POD_KEY: TypeKey = ("", "pods")
PDB_KEY: TypeKey = ("policy", "poddisruptionbudgets")
QUOTA_KEY: TypeKey = ("", "resourcequotas")
SCALABLE: dict[str, TypeKey] = {
    "ReplicaSet": ("apps", "replicasets"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
}


class StatusControllers:
    def __init__(self, api: ObjectApi) -> None:
        self.api = api
        self.store = api.store
        self._running: set[tuple[str, str]] = set()
        self.store.observers.append(self.observe)

    def observe(self, tkey: TypeKey, new: Obj | None, old: Obj | None) -> None:
        ns = (new or old or {}).get("metadata", {}).get("namespace")
        if not ns:
            return
        if tkey in (POD_KEY, PDB_KEY, *SCALABLE.values()):
            self._once("pdb", ns, self._sync_budgets)
        if tkey != QUOTA_KEY or new is None or old is None or new.get("spec") != old.get("spec"):
            self._once("quota", ns, self._sync_quotas)

    def _once(self, what: str, ns: str, sync: Callable[[str], None]) -> None:
        """Our own status writes notify us again; those nested passes are skipped."""
        key = (what, ns)
        if key in self._running:
            return
        self._running.add(key)
        try:
            sync(ns)
        finally:
            self._running.discard(key)

    # ---- PodDisruptionBudgets ----------------------------------------------------------------
    def _sync_budgets(self, ns: str) -> None:
        budgets = self.store.objects_of(PDB_KEY, ns)
        if not budgets:
            return
        pods = self.store.objects_of(POD_KEY, ns)
        for pdb in budgets:
            status = disruption.compute_status(pdb, pods, self._find, self._resource)
            self._write_status(PDB_KEY, pdb, status)

    def _find(self, kind: str, ns: str, name: str, uid: str) -> Obj | None:
        tkey = SCALABLE.get(kind)
        obj = self.store.get(tkey, ns, name) if tkey else None
        return obj if obj is not None and obj["metadata"]["uid"] == uid else None

    def _resource(self, group: str, kind: str) -> str | None:
        for rt in self.api.registry.all():
            if rt.group == group and rt.kind == kind:
                return f"{rt.plural}.{group}" if group else rt.plural
        return None

    # ---- ResourceQuotas ----------------------------------------------------------------------
    def _sync_quotas(self, ns: str) -> None:
        quotas = self.store.objects_of(QUOTA_KEY, ns)
        if not quotas:
            return
        objects = self.store.in_namespace(ns)
        for rq in quotas:
            self._write_status(QUOTA_KEY, rq, quota.status(rq, objects, self.api.registry))

    def _write_status(self, tkey: TypeKey, obj: Obj, status: Obj) -> None:
        if obj.get("status") == status or obj["metadata"].get("deletionTimestamp"):
            return
        updated = copy.deepcopy(obj)
        updated["status"] = status
        self.store.commit(tkey, updated, obj)
