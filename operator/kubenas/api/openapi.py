"""Builders for OpenAPI v3 structural schemas with Kubernetes extensions.

Plain dictionaries, exactly as they appear in a CRD's `openAPIV3Schema`, so that the same
value feeds the local validator, the CRD and the generated docs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Schema = dict[str, Any]
# `[.]` rather than `\.`: CEL string literals have no `\.` escape.
DURATION_PATTERN = "^([0-9]+([.][0-9]+)?(ms|s|m|h))+$"
ZERO_DURATION = "^(0+([.]0+)?(ms|s|m|h))+$"


def _with(schema: Schema, description: str, **extra: Any) -> Schema:
    schema["description"] = description
    schema.update({k: v for k, v in extra.items() if v is not None})
    return schema


def string(description: str, *, enum: tuple[str, ...] | None = None, pattern: str | None = None,
           default: str | None = None, min_length: int | None = None,
           max_length: int | None = None) -> Schema:
    return _with({"type": "string"}, description, enum=list(enum) if enum else None,
                 pattern=pattern, default=default, minLength=min_length, maxLength=max_length)


def integer(description: str, *, minimum: int | None = None, maximum: int | None = None,
            default: int | None = None) -> Schema:
    return _with({"type": "integer"}, description, minimum=minimum, maximum=maximum,
                 default=default)


def number(description: str, *, minimum: float | None = None, maximum: float | None = None,
           exclusive_minimum: bool | None = None, exclusive_maximum: bool | None = None,
           default: float | None = None) -> Schema:
    return _with({"type": "number"}, description, minimum=minimum, maximum=maximum,
                 exclusiveMinimum=exclusive_minimum, exclusiveMaximum=exclusive_maximum,
                 default=default)


def boolean(description: str, *, default: bool | None = None) -> Schema:
    return _with({"type": "boolean"}, description, default=default)


def duration(description: str, *, default: str | None = None) -> Schema:
    """A positive time: seconds as an integer, or a Go-style duration such as `90s`, `1h30m`."""
    return _with({"x-kubernetes-int-or-string": True}, description, default=default,
                 **{"x-kubernetes-validations": [rule(
                     f"type(self) == int ? self > 0 : self.matches('{DURATION_PATTERN}') && "
                     f"!self.matches('{ZERO_DURATION}')",
                     "must be a positive whole number of seconds or a duration like 90s, 10m, "
                     "1h30m")]})


def array(description: str, items: Schema, *, min_items: int | None = None,
          max_items: int | None = None, map_key: str | None = None,
          default: list[Any] | None = None) -> Schema:
    """A list; with `map_key` it is a map keyed by that field, so duplicate keys are invalid."""
    extra = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": [map_key]} \
        if map_key else {}
    return _with({"type": "array", "items": items}, description, minItems=min_items,
                 maxItems=max_items, default=default, **extra)


def obj(description: str, properties: dict[str, Schema], *, required: tuple[str, ...] = (),
        rules: list[dict[str, str]] | None = None, defaulted: bool = False) -> Schema:
    """An object; `defaulted` makes an absent one `{}` so its fields' defaults apply."""
    schema: Schema = {"type": "object", "properties": properties}
    if defaulted:
        schema["default"] = {}
    if required:
        schema["required"] = list(required)
    if rules:
        schema["x-kubernetes-validations"] = rules
    return _with(schema, description)


def string_map(description: str) -> Schema:
    return _with({"type": "object", "additionalProperties": {"type": "string"}}, description)


def number_map(description: str) -> Schema:
    return _with({"type": "object", "additionalProperties": {"type": "number"}}, description)


def free_object(description: str) -> Schema:
    """An object whose fields the API server keeps as they are (Kubernetes types we pass on)."""
    return _with({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, description)


def scalar(description: str) -> Schema:
    """A string, number or boolean. Structural schemas cannot say so with a type, so objects
    and lists are refused by bounds that no object (no properties at all, yet at least one)
    and no list can meet; the API server applies size bounds to those types only."""
    return _with({"x-kubernetes-preserve-unknown-fields": True, "minProperties": 1,
                  "maxProperties": 0, "minItems": 1, "maxItems": 0}, description)


def any_value(description: str) -> Schema:
    return _with({"x-kubernetes-preserve-unknown-fields": True}, description)


def rule(cel: str, message: str, field_path: str | None = None,
         reason: str | None = None) -> dict[str, str]:
    out = {"rule": cel, "message": message}
    if field_path:
        out["fieldPath"] = field_path
    if reason:
        out["reason"] = reason
    return out


def cel_list(values: Sequence[str | int | bool]) -> str:
    """A CEL list literal of strings, integers or booleans."""
    return "[" + ", ".join(str(v).lower() if isinstance(v, bool) else
                           str(v) if isinstance(v, int) else f"'{v}'" for v in values) + "]"
