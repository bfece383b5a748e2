"""Validate and default a document against a structural schema from `kubenas.api.schema`.

This is the local twin of what the API server does with the CRD's `openAPIV3Schema`: the same
types, bounds, enums and CEL rules, so `kubenas validate` and `kubectl apply` agree. CEL sees
values typed by the schema, as on the server (a `number` field holding 0 is the double 0.0),
and a value the schema leaves untyped supports only equality, as there. A rule that cannot be
evaluated is reported as such, not as the rule's own message. One deliberate difference:
unknown fields are errors here (the API server prunes them silently, and a typo then goes
unnoticed), matching `kubectl apply --validate=strict`.
"""

from __future__ import annotations

import copy
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import celpy
from celpy import celtypes
from celpy.evaluation import CELEvalError

from kubenas.api.openapi import Schema

logging.getLogger("celpy").setLevel(logging.CRITICAL)  # evaluation errors are reported here


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # what splits or garbles a line


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def __str__(self) -> str:
        """One line: control characters in names or values are shown escaped."""
        text = f"{self.path}: {self.message}" if self.path else self.message
        return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


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


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


# ---- CEL ---------------------------------------------------------------------------------

class Preserved:
    """A value the schema leaves untyped. The API server gives CEL such values as opaque
    data that supports equality only (deep equality of the JSON values), so here too."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        raw = other.value if isinstance(other, Preserved) else _plain(other)
        return _same_json(self.value, raw)

    def __hash__(self) -> int:
        return hash(repr(self.value))

    def __repr__(self) -> str:
        return f"Preserved({self.value!r})"


def _same_json(a: Any, b: Any) -> bool:
    """Go's DeepEqual on decoded JSON: 1 and 1.0 differ (int64 and float64), bools are not
    numbers."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _plain(value: Any) -> Any:
    """A CEL value back as JSON."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.ListType):
        return [_plain(v) for v in value]
    if isinstance(value, celtypes.MapType):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _equal(a: Any, b: Any) -> Any:
    if isinstance(a, Preserved) or isinstance(b, Preserved):
        left = a if isinstance(a, Preserved) else Preserved(_plain(a))
        return celtypes.BoolType(left == b)
    return celtypes.BoolType(a == b)


def _not_equal(a: Any, b: Any) -> Any:
    return celtypes.BoolType(not _equal(a, b))


def _is_sorted(values: Any) -> Any:
    """Kubernetes' CEL list library: `list.isSorted()`."""
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(values)))


FUNCTIONS: dict[str, Callable[..., Any]] = {"_==_": _equal, "_!=_": _not_equal,
                                            "isSorted": _is_sorted}


@cache
def _cel_program(expression: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(expression), functions=FUNCTIONS)


def to_cel(value: Any, schema: Schema) -> Any:
    """value as the API server hands it to CEL, typed by its schema (a value of the wrong
    type stays opaque: rules on it cannot be evaluated)."""
    if not _fits(value, schema):
        return Preserved(value)
    if schema.get("x-kubernetes-int-or-string"):
        return celtypes.StringType(value) if isinstance(value, str) else celtypes.IntType(value)
    kind = schema.get("type")
    if kind == "object" and ("properties" in schema or "additionalProperties" in schema):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return celtypes.MapType({
            celtypes.StringType(k): to_cel(v, props.get(k) or
                                           (extra if isinstance(extra, dict) else {}))
            for k, v in value.items()})
    if kind == "array":
        return celtypes.ListType([to_cel(v, schema.get("items", {})) for v in value])
    if kind == "number":
        return celtypes.DoubleType(float(value))
    if kind == "integer":
        return celtypes.IntType(value)
    if kind == "boolean":
        return celtypes.BoolType(value)
    if kind == "string":
        return celtypes.StringType(value)
    return Preserved(value)


def _fits(value: Any, schema: Schema) -> bool:
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return False  # no int64: the API server's decoder would not make it one either
    if schema.get("x-kubernetes-int-or-string"):
        return _type_name(value) in ("integer", "string")
    return "type" not in schema or _type_ok(schema["type"], value)


def _cel_error(error: CELEvalError) -> str:
    first = error.args[0] if error.args else error
    return str(first).split("\n")[0][:200]


# ---- the validator ------------------------------------------------------------------------

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
        elif _refuses(schema, value):
            self.fail(path, f"must be a string, number or boolean, got {_type_name(value)}")
            return
        self._scalar_bounds(schema, value, path)
        if isinstance(value, dict):
            self._object(schema, value, path)
        elif isinstance(value, list) and "items" in schema:
            self._array(schema, value, path)
        self._rules(schema, value, path, malformed=len(self.errors) > before)

    def _scalar_bounds(self, schema: Schema, value: Any, path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            valid = ", ".join(str(v) for v in schema["enum"])
            self.fail(path, f"unsupported value {_show(value)}; valid values: {valid}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            low = schema.get("minimum")
            if low is not None:
                if schema.get("exclusiveMinimum") and value <= low:
                    self.fail(path, f"must be greater than {_num(low)}, got {value}")
                elif value < low:
                    self.fail(path, f"must be greater than or equal to {_num(low)}, got {value}")
            high = schema.get("maximum")
            if high is not None:
                if schema.get("exclusiveMaximum") and value >= high:
                    self.fail(path, f"must be less than {_num(high)}, got {value}")
                elif value > high:
                    self.fail(path, f"must be less than or equal to {_num(high)}, got {value}")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.fail(path, f"{_show(value)} does not match the pattern {schema['pattern']}")
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
            return  # the API server does not look inside an oversized list either
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

    def _rules(self, schema: Schema, value: Any, path: str, *, malformed: bool) -> None:
        """Evaluate the CEL rules; where the value below already has errors, a rule that
        cannot be evaluated only repeats them, so that is not reported."""
        rules = [r for r in schema.get("x-kubernetes-validations", [])
                 if "oldSelf" not in r["rule"]]
        if not rules:
            return
        activation = {"self": to_cel(value, schema)}
        for spec in rules:
            where = (path + spec["fieldPath"]).lstrip(".") if spec.get("fieldPath") else path
            try:
                ok = _cel_program(spec["rule"]).evaluate(activation)
            except Exception as exc:  # cel-python raises whatever its operators raise
                ok = CELEvalError(str(exc))
            if isinstance(ok, CELEvalError):
                if not malformed:
                    self.fail(where, f"rule {spec['rule']!r} could not be evaluated: "
                                     f"{_cel_error(ok)}")
            elif not bool(ok):
                self.fail(where, spec["message"])


def _refuses(schema: Schema, value: Any) -> bool:
    """Size bounds no value of the type can meet (`openapi.scalar`)."""
    if isinstance(value, dict):
        return schema.get("minProperties", 0) > schema.get("maxProperties", float("inf"))
    if isinstance(value, list):
        return schema.get("minItems", 0) > schema.get("maxItems", float("inf"))
    return False


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else str(value)


def _article(type_name: str) -> str:
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def validate(schema: Schema, document: Any, path: str = "") -> tuple[Any, list[FieldError]]:
    """Return the document with defaults applied, and every error found (empty when valid)."""
    value = copy.deepcopy(document)
    validator = _Validator()
    validator.check(schema, value, path)
    return value, validator.errors
