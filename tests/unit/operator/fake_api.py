"""An in-memory stand-in for the API server: enough REST semantics for reconcile tests.

Calls are serialized, as a real server's writes to one object are: the reconciler sends
independent writes from several threads at once.
"""

from __future__ import annotations

import builtins
import copy
import functools
import itertools
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kubenas.backends.kubernetes.kube import ApiError
from kubenas.backends.kubernetes.status import merge_patch

Obj = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


def _serialized(method: F) -> F:
    @functools.wraps(method)
    def locked(self: FakeApi, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)
    return locked  # type: ignore[return-value]


def _apply_merge(target: Obj, patch: Obj) -> Obj:
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _apply_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _labels_match(obj: Obj, selector: str | None) -> bool:
    """`k=v` and `k in (a,b)` requirements, as the operator writes them."""
    labels = obj["metadata"].get("labels") or {}
    for req in re.findall(r"[^,(]+\([^)]*\)|[^,]+", selector or ""):
        if " in (" in req:
            key, values = req.split(" in (")
            if labels.get(key.strip()) not in values.rstrip(")").split(","):
                return False
        elif labels.get(req.split("=")[0]) != req.split("=")[1]:
            return False
    return True


def _fields_match(obj: Obj, selector: str | None) -> bool:
    """`status.phase!=X` requirements only."""
    phase = (obj.get("status") or {}).get("phase", "")
    return all(phase != req.split("!=")[1] for req in (selector or "").split(",") if req)


class Crash(Exception):
    """Raised by the fake when a test asks it to die after a number of writes."""


class FakeApi:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, Obj] = {}
        self.uids = itertools.count(1)
        self.writes = 0
        self.crash_after: int | None = None
        self.calls: list[tuple[str, str]] = []
        self.posted: list[Obj] = []
        self.refusals: list[tuple[str, str, int, str]] = []  # method, path regex, status, text

    # helpers for tests
    def put(self, collection: str, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{next(self.uids)}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self.uids))
        self.objects[f"{collection}/{meta['name']}"] = obj
        return obj

    def refuse(self, method: str, path_regex: str, status: int, message: str) -> None:
        """Answer every matching call with this error until `allow` is called."""
        self.refusals.append((method, path_regex, status, message))

    def allow(self) -> None:
        self.refusals.clear()

    def _write(self, method: str, path: str) -> None:
        self.calls.append((method, path))
        for m, regex, status, message in self.refusals:
            if m == method and re.search(regex, path):
                raise ApiError(status, f"{method} {path}: {message}")
        self.writes += 1
        if self.crash_after is not None and self.writes > self.crash_after:
            self.crash_after = None
            raise Crash(f"crash before {method} {path}")

    @staticmethod
    def _precondition(obj: Obj, body: Obj) -> None:
        """A resourceVersion in the body must be the stored one (optimistic concurrency)."""
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "the object has been modified; please apply your changes to "
                                "the latest version and try again")

    def items(self, collection: str) -> list[Obj]:
        prefix = collection.rstrip("/") + "/"
        return [copy.deepcopy(o) for k, o in self.objects.items()
                if k.startswith(prefix) and "/" not in k[len(prefix):]]

    # the Api protocol
    @_serialized
    def get(self, path: str) -> Obj | None:
        self.calls.append(("GET", path))
        obj = self.objects.get(path)
        return copy.deepcopy(obj) if obj is not None else None

    @_serialized
    def list(self, path: str, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        self.calls.append(("GET", path))
        if path == "/api/v1/pods":
            out = [copy.deepcopy(o) for k, o in self.objects.items() if "/pods/" in k]
        else:
            out = self.items(path)
        return [o for o in out if _labels_match(o, label_selector)
                and _fields_match(o, field_selector)]

    @_serialized
    def create(self, path: str, obj: Obj) -> Obj:
        name = obj["metadata"]["name"]
        if f"{path}/{name}" in self.objects:
            raise ApiError(409, f"{name} already exists")
        self._write("POST", path)
        if path.endswith("/events"):
            self.posted.append(obj)
            return obj
        stored = self.put(path, obj)
        stored.pop("status", None)
        return copy.deepcopy(stored)

    @_serialized
    def patch(self, path: str, patch: Obj) -> Obj:
        self._write("PATCH", path)
        base = path.removesuffix("/status")
        if base not in self.objects:
            raise ApiError(404, f"{base} not found")
        obj = self.objects[base]
        self._precondition(obj, patch)
        if path.endswith("/status"):
            obj["status"] = _apply_merge(obj.get("status") or {}, patch["status"])
        else:
            meta = _apply_merge(obj["metadata"], {k: v for k, v in
                                                  (patch.get("metadata") or {}).items()
                                                  if k != "resourceVersion"})
            obj["metadata"] = meta
            if "spec" in patch:
                obj["spec"] = _apply_merge(obj["spec"], patch["spec"])
                meta["generation"] += 1
        obj["metadata"]["resourceVersion"] = str(next(self.uids))
        return copy.deepcopy(obj)

    @_serialized
    def update(self, path: str, obj: Obj) -> Obj:
        self._write("PUT", path)
        if path not in self.objects:
            raise ApiError(404, f"{path} not found")
        self._precondition(self.objects[path], obj)
        stored = copy.deepcopy(obj)
        stored["metadata"] = {**self.objects[path]["metadata"], **stored["metadata"],
                              "resourceVersion": str(next(self.uids))}
        self.objects[path] = stored
        return copy.deepcopy(stored)

    @_serialized
    def delete(self, path: str, grace_period_s: int | None = None,
               propagation: str | None = None) -> None:
        self._write("DELETE", path)
        self.objects.pop(path, None)

    def reasons(self) -> builtins.list[str]:
        return [e["reason"] for e in self.posted]


__all__ = ["Crash", "FakeApi", "merge_patch"]
