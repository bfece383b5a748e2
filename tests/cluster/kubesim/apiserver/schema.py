"""Structural schemas of CRDs: pruning, defaulting and OpenAPI v3 validation.

The order is the real server's: drop unknown fields (and nulls where not nullable), apply
defaults, then validate. Error texts follow kube-openapi and `field.ErrorList`, e.g.
`spec.x: Invalid value: -1: spec.x in body should be greater than or equal to 1`.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

Schema = dict[str, Any]
Cause = dict[str, str]

_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean"}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _TYPE_NAMES.get(type(value), "object")


def show(value: Any) -> str:
    """A value as `field.Invalid` prints it: scalars literally, objects by type."""
    if isinstance(value, dict | list):
        return f'"{type_name(value)}"'
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value)


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _preserves(schema: Schema) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


# ---- pruning -------------------------------------------------------------------------------
def prune(value: Any, schema: Schema, path: str, unknown: list[str], root: bool = False) -> Any:
    """Drop fields the schema does not declare; record their paths for strict validation."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource") or root:
            keep = {"apiVersion", "kind", "metadata"}
        else:
            keep = set()
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        out = {}
        for key, sub in value.items():
            sub_path = child_path(path, key)
            declared = (props or {}).get(key)
            if sub is None and declared is not None and not declared.get("nullable"):
                continue
            if key == "metadata" and "metadata" in keep:
                out[key] = sub  # the server owns ObjectMeta; a CRD schema never prunes it
            elif declared is not None:
                out[key] = prune(sub, declared, sub_path, unknown)
            elif isinstance(extra, dict):
                out[key] = prune(sub, extra, f"{path}[{key}]", unknown)
            elif key in keep or _preserves(schema) or extra is True:
                out[key] = sub
            else:
                unknown.append(sub_path)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"], f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    return value


# ---- defaulting ----------------------------------------------------------------------------
def apply_defaults(value: Any, schema: Schema) -> Any:
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in list(value):
                if key not in (schema.get("properties") or {}):
                    value[key] = apply_defaults(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


# ---- validation ----------------------------------------------------------------------------
# Errors after which the server does not evaluate CEL rules (hasBlockingErr in
# apiextensions-apiserver's customresource strategy), and what it says instead.
BLOCKING = frozenset({"FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
                      "FieldValueTooMany", "FieldValueTypeInvalid"})
CEL_SKIPPED = {"reason": "FieldValueInvalid", "field": "<nil>",
               "message": "Invalid value: \"null\": some validation rules were not checked "
                          "because the object was invalid; correct the existing errors to "
                          "complete validation"}
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def has_rules(schema: Schema) -> bool:
    """Whether any node carries CEL rules (the server builds a CEL validator only then)."""
    if schema.get("x-kubernetes-validations"):
        return True
    children = list((schema.get("properties") or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    return any(has_rules(c) for c in children)


def name_causes(meta: dict[str, Any]) -> list[Cause]:
    """ObjectMeta validation of a custom resource's name: a DNS-1123 subdomain."""
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return []  # create without a name is refused earlier, with generateName handled there
    problems = []
    if len(name) > 253:
        problems.append("must be no more than 253 characters")
    if not _SUBDOMAIN.match(name):
        problems.append("a lowercase RFC 1123 subdomain must consist of lower case "
                        "alphanumeric characters, '-' or '.', and must start and end with an "
                        "alphanumeric character (e.g. 'example.com', regex used for validation "
                        "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return [_cause("metadata.name", f"Invalid value: {json.dumps(name)}: {p}")
            for p in problems]
def _cause(path: str, message: str, reason: str = "FieldValueInvalid") -> Cause:
    return {"reason": reason, "message": message, "field": path}


def _invalid(path: str, value: Any, message: str) -> Cause:
    return _cause(path, f"Invalid value: {show(value)}: {message}")


def _type_ok(value: Any, schema: Schema) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    want = schema.get("type")
    if want is None:
        return True
    if want == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if want == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return type_name(value) == want


def validate(value: Any, schema: Schema, path: str, errors: list[Cause]) -> None:
    if value is None:
        if not schema.get("nullable") and schema.get("type"):
            errors.append(_invalid(path, "null",
                                   f"{path} in body must be of type {schema['type']}: \"null\""))
        return
    if not _type_ok(value, schema):
        want = schema.get("type", "integer or string")
        errors.append(_cause(path, f'Invalid value: "{type_name(value)}": {path} in body must '
                                   f'be of type {want}: "{type_name(value)}"',
                             "FieldValueTypeInvalid"))
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(_cause(path, f"Unsupported value: {json.dumps(value)}: supported values: "
                                   f"{allowed}", "FieldValueNotSupported"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        _numbers(value, schema, path, errors)
    elif isinstance(value, str):
        _strings(value, schema, path, errors)
    elif isinstance(value, list):
        _arrays(value, schema, path, errors)
    elif isinstance(value, dict):
        _objects(value, schema, path, errors)
    _compositions(value, schema, path, errors)


def _numbers(value: float, schema: Schema, path: str, errors: list[Cause]) -> None:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None:
        if schema.get("exclusiveMinimum") and value <= lo:
            errors.append(_invalid(path, value, f"{path} in body should be greater than {lo}"))
        elif value < lo:
            errors.append(_invalid(
                path, value, f"{path} in body should be greater than or equal to {lo}"))
    if hi is not None:
        if schema.get("exclusiveMaximum") and value >= hi:
            errors.append(_invalid(path, value, f"{path} in body should be less than {hi}"))
        elif value > hi:
            errors.append(_invalid(
                path, value, f"{path} in body should be less than or equal to {hi}"))
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        errors.append(_invalid(path, value, f"{path} in body should be a multiple of {step}"))


def _strings(value: str, schema: Schema, path: str, errors: list[Cause]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(_cause(path, f"Too long: may not be more than {schema['maxLength']} bytes",
                             "FieldValueTooLong"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(_invalid(
            path, value, f"{path} in body should be at least {schema['minLength']} chars long"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(_invalid(path, value, f"{path} in body should match '{schema['pattern']}'"))


def _arrays(value: list[Any], schema: Schema, path: str, errors: list[Cause]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(_cause(path, f"Too many: {len(value)}: must have at most "
                                   f"{schema['maxItems']} items", "FieldValueTooMany"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(_invalid(
            path, value, f"{path} in body should have at least {schema['minItems']} items"))
    if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                errors.append(_cause(f"{path}[{i}]", f"Duplicate value: {show(item)}",
                                     "FieldValueDuplicate"))
            seen.append(item)
    if schema.get("x-kubernetes-list-type") == "map":
        _map_keys(value, schema.get("x-kubernetes-list-map-keys") or [], path, errors)
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            validate(item, items, f"{path}[{i}]", errors)


def _map_keys(value: list[Any], keys: list[str], path: str, errors: list[Cause]) -> None:
    """`x-kubernetes-list-type: map` items must differ in their keys (the server prints the
    key as Go's %#v of a map)."""
    seen: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        key = {k: item[k] for k in keys if k in item}
        if key in seen:
            shown = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in key.items())
            errors.append(_cause(f"{path}[{i}]", "Duplicate value: map[string]interface "
                                                 f"{{}}{{{shown}}}", "FieldValueDuplicate"))
        seen.append(key)


def _objects(value: dict[str, Any], schema: Schema, path: str, errors: list[Cause]) -> None:
    for key in schema.get("required") or []:
        if key not in value:
            errors.append(_cause(child_path(path, key), "Required value", "FieldValueRequired"))
    props = schema.get("properties") or {}
    for key, sub in props.items():
        if key in value:
            validate(value[key], sub, child_path(path, key), errors)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, sub_value in value.items():
            if key not in props:
                validate(sub_value, extra, f"{path}[{key}]", errors)
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(_cause(path, f"Too many: {len(value)}: must have at most "
                                   f"{schema['maxProperties']} items", "FieldValueTooMany"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append(_invalid(path, value, f"{path} in body should have at least "
                                            f"{schema['minProperties']} properties"))


def _compositions(value: Any, schema: Schema, path: str, errors: list[Cause]) -> None:
    for sub in schema.get("allOf") or []:
        validate(value, sub, path, errors)
    for word, ok in (("anyOf", lambda n: n >= 1), ("oneOf", lambda n: n == 1)):
        options = schema.get(word)
        if options:
            passing = sum(1 for sub in options if not _errors_of(value, sub, path))
            if not ok(passing):
                which = "any" if word == "anyOf" else "one and only one"
                errors.append(_invalid(
                    path, value, f"{path} in body must validate {which} schema ({word})"))
    if "not" in schema and not _errors_of(value, schema["not"], path):
        errors.append(_invalid(path, value, f"{path} in body must not validate the schema (not)"))


def _errors_of(value: Any, schema: Schema, path: str) -> list[Cause]:
    errs: list[Cause] = []
    validate(value, schema, path, errs)
    return errs


def at_path(schema: Schema, path: tuple[str, ...]) -> Schema | None:
    """The sub-schema for a field path (list items are reached through their list field)."""
    cur: Schema | None = schema
    for key in path:
        if cur is None:
            return None
        if cur.get("type") == "array":
            cur = cur.get("items")
            if cur is None:
                return None
        props = cur.get("properties") or {}
        extra = cur.get("additionalProperties")
        cur = props.get(key) if key in props else extra if isinstance(extra, dict) else None
    return cur
