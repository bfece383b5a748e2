"""Status that kube-controller-manager keeps current, kept current here inside the write.

A real cluster's disruption controller (PodDisruptionBudget status) watches pods and
recomputes status shortly after each change. Here it runs synchronously after every write
to the objects it reads, so a test that changes a pod sees the budget's new status at once,
and so the Eviction API always decides on current numbers. Status writes go straight to the
store; a write that changes nothing is skipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import disruption
from .store import Obj, TypeKey

if TYPE_CHECKING:
    from .api import ObjectApi

POD_KEY: TypeKey = ("", "pods")
PDB_KEY: TypeKey = ("policy", "poddisruptionbudgets")
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

    def _write_status(self, tkey: TypeKey, obj: Obj, status: Obj) -> None:
        if obj.get("status") == status or obj["metadata"].get("deletionTimestamp"):
            return
        updated = copy.deepcopy(obj)
        updated["status"] = status
        self.store.commit(tkey, updated, obj)
