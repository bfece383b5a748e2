"""`x-kubernetes-validations`: CEL rules evaluated with cel-python.

Values are typed by the schema (a `number` field holding 1 is the double 1.0, as in the real
server). A value the schema leaves untyped (`x-kubernetes-preserve-unknown-fields` without a
type) is opaque, as in k8s.io/apiserver/pkg/cel/common/values.go (`unknownPreserved`): it
supports only equality, which compares the decoded JSON values deeply (Go's DeepEqual:
int64 1 and float64 1.5 are simply unequal). Kubernetes' list library adds `isSorted()`.
Transition rules, those that mention `oldSelf`, run only on update and only where the old
object has a value at the same place (properties, map keys, and `map` list items).

Validation ratcheting (KEP-4008, GA in 1.33): on update, the errors of rules without
`oldSelf` are ignored where the value equals the old one at the same place; such rules are
not evaluated there at all, which gives the same answer for much less work on the status
writes that leave the spec alone. Transition rules are never ratcheted.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes

from .schema import Cause, Schema, child_path, show


class Opaque:
    """An untyped value: equality only (also inside a list or map being compared)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return _deep_equal(self.raw, _raw(other))

    def __hash__(self) -> int:
        return hash(repr(self.raw))

    def __repr__(self) -> str:
        return f"Opaque({self.raw!r})"


def _raw(value: Any) -> Any:
    if isinstance(value, Opaque):
        return value.raw
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.ListType):
        return [_raw(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {str(k): _raw(v) for k, v in value.items()}
    return value


def _deep_equal(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _eq(a: Any, b: Any) -> Any:
    if isinstance(a, Opaque) or isinstance(b, Opaque):
        return celtypes.BoolType(_deep_equal(_raw(a), _raw(b)))
    return celtypes.BoolType(a == b)


def _ne(a: Any, b: Any) -> Any:
    return celtypes.BoolType(not _eq(a, b))


def _is_sorted(values: Any) -> Any:
    return celtypes.BoolType(all(x <= y for x, y in itertools.pairwise(values)))


FUNCTIONS = {"_==_": _eq, "_!=_": _ne, "isSorted": _is_sorted}


@lru_cache(maxsize=1024)
def _program(rule: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=FUNCTIONS)


def to_cel(value: Any, schema: Schema | None) -> Any:
    schema = schema or {}
    if not schema.get("type") and not schema.get("x-kubernetes-int-or-string") and \
            schema.get("x-kubernetes-preserve-unknown-fields"):
        return Opaque(value)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return celtypes.MapType({
            celtypes.StringType(k): to_cel(v, props.get(k, extra if isinstance(extra, dict)
                                                        else None))
            for k, v in value.items()
        })
    if isinstance(value, list):
        return celtypes.ListType([to_cel(v, schema.get("items")) for v in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        if schema.get("type") == "number" or isinstance(value, float):
            return celtypes.DoubleType(value)
        return celtypes.IntType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return None


def _evaluate(rule: str, activation: dict[str, Any]) -> Any:
    try:
        return _program(rule).evaluate(activation)
    except Exception as exc:  # any evaluation failure fails the rule
        return exc


def _fail(path: str, value: Any, message: str, reason: str) -> Cause:
    if reason == "FieldValueForbidden":
        text = f"Forbidden: {message}"
    elif reason == "FieldValueRequired":
        text = f"Required value: {message}"
    elif reason == "FieldValueDuplicate":
        text = f"Duplicate value: {show(value)}"
    else:
        text = f"Invalid value: {show(value)}: {message}"
    return {"reason": reason, "message": text, "field": path}


def check_rules(
    value: Any, old: Any, has_old: bool, schema: Schema, path: str, errors: list[Cause]
) -> None:
    """Evaluate every rule below `schema`, collecting failures as `details.causes` entries."""
    if value is None:
        return
    unchanged = has_old and _deep_equal(value, old)
    if unchanged and not _has_transition_rules(schema):
        return
    rules = [r for r in schema.get("x-kubernetes-validations") or []
             if not unchanged or "oldSelf" in r["rule"]]
    if rules:
        self_val = to_cel(value, schema)
        old_val = to_cel(old, schema) if has_old else None
        for rule in rules:
            text = rule["rule"]
            uses_old = "oldSelf" in text
            if uses_old and not has_old:
                continue
            activation = {"self": self_val}
            if uses_old:
                activation["oldSelf"] = old_val
            result = _evaluate(text, activation)
            if isinstance(result, celtypes.BoolType) and bool(result):
                continue
            if isinstance(result, celtypes.BoolType):
                message = _message(rule, activation)
            else:
                message = f"{rule.get('message') or 'failed rule: ' + text}: {result}"
            field = path + rule["fieldPath"] if rule.get("fieldPath") else path
            errors.append(_fail(field, value, message, rule.get("reason", "FieldValueInvalid")))
    _descend(value, old, has_old, schema, path, errors)


_TRANSITIONS: dict[int, tuple[Schema, bool]] = {}


def _has_transition_rules(schema: Schema) -> bool:
    """Whether a rule at or below `schema` mentions `oldSelf` (memoized per schema object)."""
    known = _TRANSITIONS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    subs = [*(schema.get("properties") or {}).values(),
            *(s for s in (schema.get("additionalProperties"), schema.get("items"))
              if isinstance(s, dict))]
    found = any("oldSelf" in r["rule"] for r in schema.get("x-kubernetes-validations") or []) \
        or any(_has_transition_rules(sub) for sub in subs)
    _TRANSITIONS[id(schema)] = (schema, found)
    return found


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    if rule.get("messageExpression"):
        rendered = _evaluate(rule["messageExpression"], activation)
        if isinstance(rendered, str):
            return str(rendered)
    return rule.get("message") or f"failed rule: {rule['rule']}"


def _descend(
    value: Any, old: Any, has_old: bool, schema: Schema, path: str, errors: list[Cause]
) -> None:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        old_map = old if has_old and isinstance(old, dict) else {}
        for key, sub_value in value.items():
            sub = props.get(key) or (extra if isinstance(extra, dict) else None)
            if sub is None:
                continue
            sub_path = child_path(path, key) if key in props else f"{path}[{key}]"
            check_rules(sub_value, old_map.get(key), key in old_map, sub, sub_path, errors)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        keys = schema.get("x-kubernetes-list-map-keys") or []
        correlate = has_old and isinstance(old, list) and schema.get(
            "x-kubernetes-list-type") == "map" and keys
        for i, item in enumerate(value):
            match = None
            if correlate and isinstance(item, dict):
                match = next((o for o in old if isinstance(o, dict)
                              and all(o.get(k) == item.get(k) for k in keys)), None)
            check_rules(item, match, match is not None, items, f"{path}[{i}]", errors)
