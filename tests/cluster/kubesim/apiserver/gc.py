"""Deletion and garbage collection: finalizers, graceful pod deletion, owner references.

Runs synchronously inside the request that triggers it:
- an object with finalizers gets `deletionTimestamp` and stays until they are gone;
- a pod bound to a node gets `deletionTimestamp` + `deletionGracePeriodSeconds` and stays
  until its kubelet deletes it again with grace 0 (unbound or finished pods go at once);
- Background: when an owner is removed, dependents without another live owner are deleted;
- Foreground: the owner gets the `foregroundDeletion` finalizer, its dependents are
  deleted, and it goes once no dependent with `blockOwnerDeletion` remains;
- Orphan: dependents lose their owner reference, then the owner is deleted;
- a namespace is Terminating until the objects in it are gone.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import kinds
from .options import DeleteOptions, now
from .store import Obj, TypeKey

if TYPE_CHECKING:
    from .api import ObjectApi

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NS_KEY: TypeKey = ("", "namespaces")
CRD_KEY: TypeKey = ("apiextensions.k8s.io", "customresourcedefinitions")
POD_KEY: TypeKey = ("", "pods")


class Collector:
    def __init__(self, api: ObjectApi) -> None:
        self.api = api
        self.store = api.store

    def delete(self, tkey: TypeKey, obj: Obj, opts: DeleteOptions) -> Obj:
        """Start deleting `obj`; returns its state afterwards (last state if removed)."""
        meta = obj["metadata"]
        uid = meta["uid"]
        if opts.propagation == "Orphan":
            self._orphan(uid)
        if tkey == POD_KEY:
            grace = self._pod_grace(obj, opts)
            if grace > 0:
                if meta.get("deletionTimestamp"):
                    return obj
                updated = copy.deepcopy(obj)
                updated["metadata"].update(deletionTimestamp=now(grace),
                                           deletionGracePeriodSeconds=grace)
                return self.store.commit(tkey, updated, obj)
            if meta.get("deletionGracePeriodSeconds"):
                cleared = copy.deepcopy(obj)
                cleared["metadata"]["deletionGracePeriodSeconds"] = 0
                if not meta.get("finalizers"):
                    return self.api.remove(tkey, cleared)
                return self.store.commit(tkey, cleared, obj)
        finalizers = list(meta.get("finalizers") or [])
        blocking = opts.propagation == "Foreground" and self._blocking(uid)
        if blocking and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if tkey in (NS_KEY, CRD_KEY):
            return self._delete_container(tkey, obj, finalizers)
        if not finalizers:
            return self.api.remove(tkey, obj)
        if meta.get("deletionTimestamp") and finalizers == meta.get("finalizers"):
            return obj
        updated = copy.deepcopy(obj)
        updated["metadata"]["finalizers"] = finalizers
        updated["metadata"].setdefault("deletionTimestamp", now())
        updated["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        result = self.store.commit(tkey, updated, obj)
        if blocking:
            self._delete_dependents(uid, "Foreground")
            return self._current(tkey, result)
        return result

    def _pod_grace(self, pod: Obj, opts: DeleteOptions) -> int:
        if not (pod.get("spec") or {}).get("nodeName") or kinds.is_terminal_pod(pod):
            return 0
        if opts.grace is not None:
            return opts.grace
        return int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))

    def _current(self, tkey: TypeKey, last: Obj) -> Obj:
        meta = last["metadata"]
        current = self.store.get(tkey, meta.get("namespace", ""), meta["name"])
        return current if current is not None else last

    def _blocking(self, uid: str) -> bool:
        return any(
            ref.get("uid") == uid and ref.get("blockOwnerDeletion")
            for _, dep in self.store.dependents_of(uid)
            for ref in dep["metadata"].get("ownerReferences") or []
        )

    def _orphan(self, uid: str) -> None:
        for tkey, dep in self.store.dependents_of(uid):
            updated = copy.deepcopy(dep)
            refs = [r for r in dep["metadata"]["ownerReferences"] if r.get("uid") != uid]
            updated["metadata"]["ownerReferences"] = refs
            self.store.commit(tkey, updated, dep)

    def _delete_dependents(self, uid: str, policy: str) -> None:
        for tkey, dep in self.store.dependents_of(uid):
            others = [r for r in dep["metadata"].get("ownerReferences") or []
                      if r.get("uid") != uid and self.store.by_uid_get(r["uid"]) is not None]
            if others:
                if policy == "Background":
                    updated = copy.deepcopy(dep)
                    updated["metadata"]["ownerReferences"] = [
                        r for r in dep["metadata"]["ownerReferences"] if r.get("uid") != uid]
                    self.store.commit(tkey, updated, dep)
                continue
            current = self.store.by_uid_get(dep["metadata"]["uid"])
            if current is not None:
                self.delete(tkey, current[1], DeleteOptions(propagation=policy))

    def _delete_container(self, tkey: TypeKey, obj: Obj, finalizers: list[str]) -> Obj:
        """Namespaces and CRDs empty themselves before they go."""
        updated = copy.deepcopy(obj)
        updated["metadata"]["finalizers"] = finalizers
        updated["metadata"].setdefault("deletionTimestamp", now())
        updated["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        if tkey == NS_KEY:
            updated["status"] = {"phase": "Terminating"}
        if updated != obj:
            self.store.commit(tkey, updated, obj)
        for child_key, child in self._contents(tkey, obj):
            self.delete(child_key, child, DeleteOptions(propagation="Background"))
        return self._finish_container(tkey, obj)

    def _contents(self, tkey: TypeKey, obj: Obj) -> list[tuple[TypeKey, Obj]]:
        if tkey == NS_KEY:
            return self.store.in_namespace(obj["metadata"]["name"])
        spec = obj["spec"]
        child_key = (spec["group"], spec["names"]["plural"])
        return [(child_key, o) for o in self.store.objects_of(child_key)]

    def _finish_container(self, tkey: TypeKey, obj: Obj) -> Obj:
        current = self._current(tkey, obj)
        if not current["metadata"].get("deletionTimestamp") or self._contents(tkey, current):
            return current
        if current["metadata"].get("finalizers"):
            return current
        if self.store.get(tkey, "", current["metadata"]["name"]) is None:
            return current
        return self.api.remove(tkey, current)

    def removed(self, tkey: TypeKey, obj: Obj) -> None:
        """React to an object that is gone: its dependents, its owners, its container."""
        meta = obj["metadata"]
        self._delete_dependents(meta["uid"], "Background")
        for ref in meta.get("ownerReferences") or []:
            owner = self.store.by_uid_get(ref["uid"])
            if owner is not None:
                self._maybe_finish_foreground(*owner)
        if meta.get("namespace"):
            ns = self.store.get(NS_KEY, "", meta["namespace"])
            if ns is not None and ns["metadata"].get("deletionTimestamp"):
                self._finish_container(NS_KEY, ns)
        group, plural = tkey
        crd = self.store.get(CRD_KEY, "", f"{plural}.{group}") if group else None
        if crd is not None and crd["metadata"].get("deletionTimestamp"):
            self._finish_container(CRD_KEY, crd)

    def _maybe_finish_foreground(self, tkey: TypeKey, owner: Obj) -> None:
        finalizers = owner["metadata"].get("finalizers") or []
        if FOREGROUND not in finalizers or self._blocking(owner["metadata"]["uid"]):
            return
        updated = copy.deepcopy(owner)
        updated["metadata"]["finalizers"] = [f for f in finalizers if f != FOREGROUND]
        if not updated["metadata"]["finalizers"]:
            self.api.remove(tkey, updated)
        else:
            self.store.commit(tkey, updated, owner)

