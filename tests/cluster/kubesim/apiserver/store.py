"""Object storage: one global resourceVersion counter, an event history for watches, indexes.

Every write goes through `commit` or `remove`, which take the lock, bump the counter, record
the event and hand it to the live watchers. Watchers live on the server's event loop; the
store itself may be written from any thread (tests, an in-process kubelet).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import gone

TypeKey = tuple[str, str]  # (group, plural)
ObjKey = tuple[str, str]  # (namespace or "", name)
Obj = dict[str, Any]

CLOSE = None  # the queue item that ends a watch stream


@dataclass
class Event:
    rv: int
    type: str  # ADDED, MODIFIED or DELETED
    tkey: TypeKey
    obj: Obj
    old: Obj | None = None


@dataclass(eq=False)
class Watcher:
    """One watch stream; `offer` filters an event and queues what the client should see."""

    tkey: TypeKey
    namespace: str | None
    match: Callable[[Obj], bool]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, Obj] | None] = field(default_factory=asyncio.Queue)

    def translate(self, ev: Event) -> tuple[str, Obj] | None:
        """Selector-aware: an object that starts or stops matching is ADDED or DELETED."""
        if ev.tkey != self.tkey:
            return None
        if self.namespace and ev.obj["metadata"].get("namespace") != self.namespace:
            return None
        now = self.match(ev.obj)
        before = ev.old is not None and self.match(ev.old)
        if ev.type == "MODIFIED":
            if now and before:
                return ("MODIFIED", ev.obj)
            if now:
                return ("ADDED", ev.obj)
            if before:
                return ("DELETED", ev.obj)
            return None
        return (ev.type, ev.obj) if now else None

    def offer(self, ev: Event) -> None:
        item = self.translate(ev)
        if item is not None:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, CLOSE)


def meta_key(obj: Obj) -> ObjKey:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


class Store:
    def __init__(self, history_limit: int = 10_000) -> None:
        self.lock = threading.RLock()
        self.rv = 0
        self.floor = 0  # events with rv > floor can be replayed
        self.history_limit = history_limit
        self.objects: dict[TypeKey, dict[ObjKey, Obj]] = {}
        self.by_uid: dict[str, tuple[TypeKey, ObjKey]] = {}
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        self.history: deque[Event] = deque()
        self.watchers: set[Watcher] = set()
        # Called after every write, under the lock, with (type, new or None, old or None):
        # the in-process controllers that keep status current (see controllers.py).
        self.observers: list[Callable[[TypeKey, Obj | None, Obj | None], None]] = []

    # ---- reads -------------------------------------------------------------------------
    def get(self, tkey: TypeKey, namespace: str, name: str) -> Obj | None:
        with self.lock:
            obj = self.objects.get(tkey, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def objects_of(self, tkey: TypeKey, namespace: str | None = None) -> list[Obj]:
        with self.lock:
            items = self.objects.get(tkey, {})
            keys = sorted(k for k in items if namespace is None or k[0] == namespace)
            return [copy.deepcopy(items[k]) for k in keys]

    def by_uid_get(self, uid: str) -> tuple[TypeKey, Obj] | None:
        with self.lock:
            where = self.by_uid.get(uid)
            if where is None:
                return None
            return where[0], copy.deepcopy(self.objects[where[0]][where[1]])

    def dependents_of(self, uid: str) -> list[tuple[TypeKey, Obj]]:
        with self.lock:
            found = (self.by_uid_get(d) for d in sorted(self.dependents.get(uid, ())))
            return [f for f in found if f is not None]

    def in_namespace(self, namespace: str) -> list[tuple[TypeKey, Obj]]:
        with self.lock:
            return [
                (tkey, copy.deepcopy(obj))
                for tkey, items in self.objects.items()
                for (ns, _), obj in sorted(items.items())
                if ns == namespace
            ]

    # ---- writes ------------------------------------------------------------------------
    def commit(self, tkey: TypeKey, obj: Obj, old: Obj | None) -> Obj:
        """Store `obj` (ADDED when `old` is None, else MODIFIED) under a fresh resourceVersion."""
        with self.lock:
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._index(tkey, obj, old)
            self.objects.setdefault(tkey, {})[meta_key(obj)] = obj
            self._record(Event(self.rv, "MODIFIED" if old else "ADDED", tkey, obj, old))
            result = copy.deepcopy(obj)
            self._notify(tkey, obj, old)
            return result

    def remove(self, tkey: TypeKey, obj: Obj) -> Obj:
        """Forget `obj` for good; watchers see DELETED with its last state and a fresh rv."""
        with self.lock:
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects.get(tkey, {}).pop(meta_key(obj), None)
            self._index(tkey, None, obj)
            self._record(Event(self.rv, "DELETED", tkey, obj))
            result = copy.deepcopy(obj)
            self._notify(tkey, None, obj)
            return result

    def _notify(self, tkey: TypeKey, new: Obj | None, old: Obj | None) -> None:
        for observer in list(self.observers):
            observer(tkey, new, old)

    def _index(self, tkey: TypeKey, new: Obj | None, old: Obj | None) -> None:
        for o, add in ((old, False), (new, True)):
            if o is None:
                continue
            uid = o["metadata"]["uid"]
            if add:
                self.by_uid[uid] = (tkey, meta_key(o))
            else:
                self.by_uid.pop(uid, None)
            for ref in o["metadata"].get("ownerReferences") or []:
                deps = self.dependents.setdefault(ref["uid"], set())
                if add:
                    deps.add(uid)
                else:
                    deps.discard(uid)

    def _record(self, ev: Event) -> None:
        self.history.append(ev)
        while len(self.history) > self.history_limit:
            self.floor = self.history.popleft().rv
        for w in list(self.watchers):
            w.offer(ev)

    # ---- watches -----------------------------------------------------------------------
    def subscribe(self, watcher: Watcher, since: int | None) -> list[tuple[str, Obj]]:
        """Register `watcher` and return what it must replay first, atomically.

        `since=None` means "from now, after synthetic ADDED events for what exists".
        """
        with self.lock:
            if since is None:
                initial = [
                    ("ADDED", obj)
                    for (ns, _), obj in sorted(self.objects.get(watcher.tkey, {}).items())
                    if (not watcher.namespace or ns == watcher.namespace) and watcher.match(obj)
                ]
            else:
                if since < self.floor:
                    raise gone(f"too old resource version: {since} ({self.floor + 1})")
                initial = [
                    item for ev in self.history
                    if ev.rv > since and (item := watcher.translate(ev)) is not None
                ]
            self.watchers.add(watcher)
            return copy.deepcopy(initial)

    def unsubscribe(self, watcher: Watcher) -> None:
        with self.lock:
            self.watchers.discard(watcher)

    def close_watches(self) -> None:
        with self.lock:
            for w in list(self.watchers):
                w.close()
            self.watchers.clear()

    def compact(self) -> None:
        """Forget the history, as etcd compaction does: older resourceVersions become 410."""
        with self.lock:
            self.history.clear()
            self.floor = self.rv

    # ---- persistence -------------------------------------------------------------------
    def save(self, path: Path) -> None:
        with self.lock:
            items = [
                {"group": g, "plural": p, "object": obj}
                for (g, p), objs in self.objects.items()
                for obj in objs.values()
            ]
            data = {"resourceVersion": self.rv, "items": items}
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        with self.lock:
            for item in data["items"]:
                tkey = (item["group"], item["plural"])
                obj = item["object"]
                self.objects.setdefault(tkey, {})[meta_key(obj)] = obj
                self._index(tkey, obj, None)
            self.rv = self.floor = int(data["resourceVersion"])
