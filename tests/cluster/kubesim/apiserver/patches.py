"""Patch types: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge, apply merge.

Strategic merge and server-side apply share one keyed-list merge. Built-in kinds key their
lists by the fields the Kubernetes Go types declare (`patchMergeKey`); custom resources key
theirs by `x-kubernetes-list-map-keys` from the CRD schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from .errors import ApiError

# list field name -> merge key, as the built-in Go types declare them.
BUILTIN_LIST_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "volumeMounts": "name",
    "volumeDevices": "devicePath",
    "env": "name",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey",
}
BUILTIN_SET_LISTS = {"finalizers"}

# (list field name, items) -> merge key, or None for an atomic (replaced) list.
ListKeyFn = Callable[[tuple[str, ...], list[Any]], str | None]
SetListFn = Callable[[tuple[str, ...]], bool]


def builtin_list_key(path: tuple[str, ...], items: list[Any]) -> str | None:
    name = path[-1] if path else ""
    if name == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return BUILTIN_LIST_KEYS.get(name)


def builtin_set_list(path: tuple[str, ...]) -> bool:
    return bool(path) and path[-1] in BUILTIN_SET_LISTS


# ---- RFC 7386 ------------------------------------------------------------------------------
def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---- RFC 6902 ------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], op: str, path: str) -> tuple[Any, str]:
    cur = doc
    for part in parts[:-1]:
        try:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise _not_apply(op, path) from None
    return cur, parts[-1]


def _not_apply(op: str, path: str) -> ApiError:
    return ApiError(422, f"jsonpatch {op} operation does not apply: doc is missing path: {path}")


def _get(doc: Any, path: str, op: str) -> Any:
    cur = doc
    for part in _pointer(path):
        try:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise _not_apply(op, path) from None
    return cur


def _remove(doc: Any, path: str, op: str) -> Any:
    parent, last = _parent(doc, _pointer(path), op, path)
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, IndexError, ValueError):
        raise _not_apply(op, path) from None


def _add(doc: Any, path: str, value: Any, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, op, path)
    if isinstance(parent, list):
        idx = len(parent) if last == "-" else int(last)
        if idx > len(parent):
            raise _not_apply(op, path)
        parent.insert(idx, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise _not_apply(op, path)
    return doc


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise ApiError(400, "json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]), kind)
        elif kind == "remove":
            _remove(doc, path, kind)
        elif kind == "replace":
            if not _pointer(path):
                doc = copy.deepcopy(op["value"])
                continue
            _remove(doc, path, kind)
            doc = _add(doc, path, copy.deepcopy(op["value"]), kind)
        elif kind == "move":
            value = _remove(doc, op["from"], kind)
            doc = _add(doc, path, value, kind)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op["from"], kind)), kind)
        elif kind == "test":
            actual = _get(doc, path, kind)
            if actual != op.get("value"):
                raise ApiError(
                    422,
                    f"the server rejected our request due to an error in our request: "
                    f"testing value {path} failed: expected {json.dumps(op.get('value'))}, "
                    f"got {json.dumps(actual)}",
                )
        else:
            raise ApiError(422, f"Unexpected kind: {kind}")
    return doc


# ---- strategic merge and apply -------------------------------------------------------------
def keyed_merge(
    base: Any,
    patch: Any,
    list_key: ListKeyFn,
    set_list: SetListFn,
    path: tuple[str, ...] = (),
    directives: bool = True,
) -> Any:
    """Merge `patch` into `base`: maps recursively, keyed lists item by item.

    With `directives`, honours the strategic-merge `$patch`, `$retainKeys`,
    `$deleteFromPrimitiveList/` and `$setElementOrder/` markers.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    patch = dict(patch)
    if directives:
        mode = patch.pop("$patch", None)
        if mode == "replace":
            return {k: v for k, v in copy.deepcopy(patch).items() if not k.startswith("$")}
        if mode == "delete":
            return None
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    retain = patch.pop("$retainKeys", None) if directives else None
    for key, value in patch.items():
        if directives and key.startswith("$setElementOrder/"):
            continue
        if directives and key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
            continue
        sub = (*path, key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            merged = _merge_list(result.get(key), value, list_key, set_list, sub, directives)
            result[key] = merged
        elif isinstance(value, dict):
            merged = keyed_merge(result.get(key), value, list_key, set_list, sub, directives)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(
    base: Any,
    patch: list[Any],
    list_key: ListKeyFn,
    set_list: SetListFn,
    path: tuple[str, ...],
    directives: bool,
) -> list[Any]:
    base = base if isinstance(base, list) else []
    if set_list(path):
        return list(base) + [v for v in patch if v not in base]
    key = list_key(path, patch or base)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return [v for v in copy.deepcopy(patch) if not (isinstance(v, dict) and "$patch" in v)]
    result = copy.deepcopy(base)
    for item in patch:
        idx = next((i for i, b in enumerate(result)
                    if isinstance(b, dict) and b.get(key) == item.get(key)), None)
        if directives and item.get("$patch") == "delete":
            if idx is not None:
                result.pop(idx)
            continue
        if idx is None:
            clean = keyed_merge({}, item, list_key, set_list, path, directives)
            result.append(clean)
        else:
            result[idx] = keyed_merge(result[idx], item, list_key, set_list, path, directives)
    return result


# ---- managed field sets (server-side apply) -------------------------------------------------
IGNORED_TOP = {"apiVersion", "kind"}
IGNORED_META = {"name", "namespace", "resourceVersion", "uid", "managedFields",
                "creationTimestamp", "generation"}


def field_set(
    obj: Any, list_key: ListKeyFn, set_list: SetListFn, path: tuple[str, ...] = (),
    prefix: tuple[str, ...] = (),
) -> set[tuple[str, ...]]:
    """The leaf paths an applied configuration sets, spelled as fieldsV1 tokens."""
    out: set[tuple[str, ...]] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if (not path and key in IGNORED_TOP) or (path == ("metadata",)
                                                      and key in IGNORED_META):
                continue
            sub_prefix = (*prefix, f"f:{key}")
            if isinstance(value, dict) and value:
                out |= field_set(value, list_key, set_list, (*path, key), sub_prefix)
            elif isinstance(value, list) and value:
                out |= _list_fields(value, list_key, set_list, (*path, key), sub_prefix)
            else:
                out.add(sub_prefix)
    return out


def _list_fields(
    items: list[Any], list_key: ListKeyFn, set_list: SetListFn, path: tuple[str, ...],
    prefix: tuple[str, ...],
) -> set[tuple[str, ...]]:
    if set_list(path):
        return {(*prefix, "v:" + json.dumps(v, separators=(",", ":"))) for v in items}
    key = list_key(path, items)
    if key is None or not all(isinstance(i, dict) for i in items):
        return {prefix}
    out: set[tuple[str, ...]] = set()
    for item in items:
        token = "k:" + json.dumps({key: item.get(key)}, separators=(",", ":"))
        out.add((*prefix, token, "."))
        out |= field_set(item, list_key, set_list, path, (*prefix, token))
    return out


def fields_v1(paths: set[tuple[str, ...]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for p in sorted(paths):
        cur = root
        for token in p:
            cur = cur.setdefault(token, {})
    return root


def paths_of(fields: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for token, sub in fields.items():
        if sub:
            out |= paths_of(sub, (*prefix, token))
        else:
            out.add((*prefix, token))
    return out


def remove_path(obj: Any, path: tuple[str, ...]) -> None:
    """Delete the field a fieldsV1 path names, if it is still there."""
    cur, parents = obj, []
    for token in path[:-1]:
        parents.append(cur)
        cur = _step(cur, token)
        if cur is None:
            return
    last = path[-1]
    if last == "." and isinstance(parents[-1], list):
        parents[-1].remove(cur)
    elif last.startswith("f:") and isinstance(cur, dict):
        cur.pop(last[2:], None)
    elif last.startswith("v:") and isinstance(cur, list):
        value = json.loads(last[2:])
        if value in cur:
            cur.remove(value)


def _step(cur: Any, token: str) -> Any:
    if token.startswith("f:") and isinstance(cur, dict):
        return cur.get(token[2:])
    if token.startswith("k:") and isinstance(cur, list):
        want = json.loads(token[2:])
        return next((i for i in cur if isinstance(i, dict)
                     and all(i.get(k) == v for k, v in want.items())), None)
    return None


_MISSING = object()


def value_at(obj: Any, path: tuple[str, ...]) -> Any:
    """The value a fieldsV1 path names, or a marker when absent (set items are themselves)."""
    cur = obj
    for token in path:
        if token == ".":
            return cur
        if token.startswith("v:"):
            value = json.loads(token[2:])
            return value if isinstance(cur, list) and value in cur else _MISSING
        cur = _step(cur, token)
        if cur is None:
            return _MISSING
    return cur


def render_path(path: tuple[str, ...]) -> str:
    """`.spec.containers[name="app"].image`, as apply conflict messages spell fields."""
    out = ""
    for token in path:
        if token.startswith("f:"):
            out += "." + token[2:]
        elif token.startswith("k:"):
            keys = json.loads(token[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif token.startswith("v:"):
            out += f"[{token[2:]}]"
    return out
