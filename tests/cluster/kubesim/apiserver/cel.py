"""`x-kubernetes-validations`: CEL rules evaluated with cel-python.

Values are typed by the schema (a `number` field holding 1 is the double 1.0, as in the real
server). Transition rules, those that mention `oldSelf`, run only on update and only where
the old object has a value at the same place (properties, map keys, and `map` list items).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import celpy
from celpy import celtypes

from .schema import Cause, Schema, child_path, show


@lru_cache(maxsize=1024)
def _program(rule: str) -> celpy.Runner:
    env = celpy.Environment()
    return env.program(env.compile(rule))


def to_cel(value: Any, schema: Schema | None) -> Any:
    schema = schema or {}
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
    rules = schema.get("x-kubernetes-validations") or []
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
