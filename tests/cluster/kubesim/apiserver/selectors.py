"""Label and field selectors, parsed once per request into a predicate over objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ApiError

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)\s*$")


def _split_requirements(selector: str) -> list[str]:
    """Split on commas that are not inside `in (...)` value sets."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p for p in (s.strip() for s in parts) if p]


def _label_check(req: str) -> Callable[[dict[str, str]], bool]:
    if m := _EQ_RE.match(req):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _SET_RE.match(req):
        neg, key, op, raw = m.groups()
        if op:
            values = {v.strip() for v in raw.split(",") if v.strip()}
            if op == "in":
                return lambda labels: labels.get(key) in values
            return lambda labels: labels.get(key) not in values
        if neg:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ApiError(400, f"unable to parse requirement: {req!r}")


def label_selector(selector: str | None) -> Predicate:
    checks = [_label_check(req) for req in _split_requirements(selector or "")]

    def predicate(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return predicate


def _field_value(obj: Obj, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is None:
        return ""
    return str(cur).lower() if isinstance(cur, bool) else str(cur)


SUPPORTED_FIELDS = {"metadata.name", "metadata.namespace"}
KIND_FIELDS = {
    "pods": {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",
             "spec.serviceAccountName", "status.podIP"},
    "events": {"involvedObject.kind", "involvedObject.name", "involvedObject.namespace",
               "involvedObject.uid", "reason", "type", "source"},
    "secrets": {"type"},
    "namespaces": {"status.phase"},
}


def _field_check(req: str, allowed: set[str]) -> Predicate:
    m = _EQ_RE.match(req)
    if not m:
        raise ApiError(400, f"invalid selector: {req!r}; can't understand {req!r}")
    path, op, value = m.groups()
    if path not in allowed:
        raise ApiError(400, f"field label not supported: {path}")
    if op == "!=":
        return lambda obj: _field_value(obj, path) != value
    return lambda obj: _field_value(obj, path) == value


def field_selector(selector: str | None, plural: str) -> Predicate:
    allowed = SUPPORTED_FIELDS | KIND_FIELDS.get(plural, set())
    checks = [_field_check(req, allowed) for req in _split_requirements(selector or "")]
    return lambda obj: all(check(obj) for check in checks)


def selector_matches(selector: Any, labels: dict[str, str] | None) -> bool | None:
    """A `metav1.LabelSelector` against labels; None when the selector is invalid.

    An empty selector (no matchLabels, no matchExpressions) matches everything here; callers
    that treat it as "nothing" (PodDisruptionBudgets) check `selector_is_empty` first.
    """
    labels = labels or {}
    if not isinstance(selector, dict):
        return None
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            return None
        if not ok:
            return False
    return True


def selector_is_empty(selector: Any) -> bool:
    return not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions"))
