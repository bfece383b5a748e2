"""Validate and default a document against a structural schema from `kubenas.api.schema`.

This is the local twin of what the API server does with the CRD's `openAPIV3Schema`: the same
types, bounds, enums and CEL rules, so `kubenas run` and `kubectl apply` agree. It differs on
purpose in one way: unknown fields are errors here (the API server prunes them silently, and a
typo then goes unnoticed), matching `kubectl apply --validate=strict`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy

from kubenas.api.schema import Schema


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else _type_name(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_ok(expected: str, value: Any) -> bool:
    actual = _type_name(value)
    return actual == expected or (expected == "number" and actual == "integer")


@cache
def _cel_program(expression: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(expression))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Validator:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def check(self, schema: Schema, value: Any, path: str) -> None:
        before = len(self.errors)
        if schema.get("x-kubernetes-int-or-string"):
            if _type_name(value) not in ("integer", "string"):
                self.fail(path, f"must be an integer or a string, got {_type_name(value)}")
                return
        elif "type" in schema and not _type_ok(schema["type"], value):
            self.fail(path, f"must be {_article(schema['type'])}, got {_type_name(value)} "
                            f"{_show(value)}")
            return
        self._scalar_bounds(schema, value, path)
        if isinstance(value, dict):
            self._object(schema, value, path)
        elif isinstance(value, list) and "items" in schema:
            self._array(schema, value, path)
        if len(self.errors) == before:  # CEL on a malformed value only adds noise
            self._rules(schema, value, path)

    def _scalar_bounds(self, schema: Schema, value: Any, path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            valid = ", ".join(str(v) for v in schema["enum"])
            self.fail(path, f"unsupported value {_show(value)}; valid values: {valid}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            low = schema.get("minimum")
            if low is not None:
                if schema.get("exclusiveMinimum") and value <= low:
                    self.fail(path, f"must be greater than {low}, got {value}")
                elif value < low:
                    self.fail(path, f"must be greater than or equal to {low}, got {value}")
            high = schema.get("maximum")
            if high is not None and value > high:
                self.fail(path, f"must be less than or equal to {high}, got {value}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.fail(path, f"{value!r} does not match the pattern {schema['pattern']}")
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.fail(path, f"must be at least {schema['minLength']} characters")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.fail(path, f"must be at most {schema['maxLength']} characters")

    def _object(self, schema: Schema, value: dict[str, Any], path: str) -> None:
        props: dict[str, Schema] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                self.fail(_join(path, name), "required field is missing")
        for name, child in props.items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in props:
                self.check(props[name], item, _join(path, name))
            elif isinstance(extra, dict):
                self.check(extra, item, _join(path, name))
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                valid = ", ".join(props) or "none"
                self.fail(_join(path, name), f"unknown field; valid fields: {valid}")

    def _array(self, schema: Schema, value: list[Any], path: str) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.fail(path, f"must have at least {schema['minItems']} item(s), got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.fail(path, f"must have at most {schema['maxItems']} items, got {len(value)}")
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen: set[str] = set()
        for index, item in enumerate(value):
            self.check(schema["items"], item, _join(path, index))
            if keys and isinstance(item, dict):
                key = repr([item.get(k) for k in keys])
                if key in seen:
                    self.fail(_join(path, index), f"duplicate entry with "
                                                  f"{', '.join(keys)} {key[1:-1]}")
                seen.add(key)

    def _rules(self, schema: Schema, value: Any, path: str) -> None:
        for spec in schema.get("x-kubernetes-validations", []):
            if "oldSelf" in spec["rule"]:
                continue
            try:
                ok = _cel_program(spec["rule"]).evaluate({"self": celpy.json_to_cel(value)})
            except celpy.CELEvalError:
                ok = False
            if not bool(ok):
                where = path + spec.get("fieldPath", "") if spec.get("fieldPath") else path
                self.fail(where, spec["message"])


def _article(type_name: str) -> str:
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def validate(schema: Schema, document: Any, path: str = "") -> tuple[Any, list[FieldError]]:
    """Return the document with defaults applied, and every error found (empty when valid)."""
    value = copy.deepcopy(document)
    validator = _Validator()
    validator.check(schema, value, path)
    return value, validator.errors
