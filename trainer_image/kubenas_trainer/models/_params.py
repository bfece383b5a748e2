"""Checks for architecture params, so every family reports bad input the same way.

What a family accepts (names, kinds, bounds, defaults, op names, list lengths) is
`catalog.FAMILIES`; this module only applies it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..catalog import FAMILIES, Param


def parse_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate params against the catalog's family; return every param's value.

    Absent optional params get their catalog default; an ops list whose length is set
    by an int param is cut to that many entries.
    """
    spec = FAMILIES[family]
    check_keys(family, params, [p.name for p in spec.params])
    values: dict[str, Any] = {}
    # Numbers first: an ops param's length may name an int param.
    for param in sorted(spec.params, key=lambda p: p.kind == "ops"):
        if param.kind == "int":
            values[param.name] = int_param(family, params, param)
        elif param.kind == "number":
            values[param.name] = number_param(family, params, param)
        else:
            if isinstance(param.length, str):
                length, exact = int(values[param.length]), False
            else:
                length, exact = int(param.length or 0), param.length is not None
            value = params.get(param.name, None if param.required else param.default)
            ops = ops_param(family, param.name, value, param.ops, length,
                            length if exact else None)
            values[param.name] = list(ops[:length])
    return values


def check_keys(family: str, params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Reject unknown params: a typo must fail the trial, not silently use a default."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"{family}: unknown params {unknown}; valid params are {sorted(allowed)}"
        )


def _bound(value: float | None) -> str:
    if value is None:
        return "inf"
    return str(int(value)) if float(value).is_integer() else str(value)


def _in_bounds(param: Param, value: float) -> bool:
    if param.minimum is not None and value < param.minimum:
        return False
    if param.maximum is None:
        return True
    return value < param.maximum if param.exclusive_maximum else value <= param.maximum


def _required(family: str, params: Mapping[str, Any], param: Param, valid: str) -> Any:
    value = params.get(param.name, None if param.required else param.default)
    if value is None:
        raise ValueError(f"{family}: param {param.name!r} is required ({valid})")
    return value


def int_param(family: str, params: Mapping[str, Any], param: Param) -> int:
    """Return params[name] as an int within the param's bounds, or its default when absent."""
    high = param.maximum
    if high is not None and param.exclusive_maximum:
        high = math.ceil(high) - 1
    valid = f"an integer {_bound(param.minimum)}..{_bound(high)}"
    value = _required(family, params, param, valid)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not _in_bounds(param, value):
        raise ValueError(f"{family}: param {param.name!r} must be {valid}, got {value!r}")
    return value


def number_param(family: str, params: Mapping[str, Any], param: Param) -> float:
    """Return params[name] as a finite float within the param's bounds, or its default."""
    low = "(-inf" if param.minimum is None else f"[{_bound(param.minimum)}"
    high = f"{_bound(param.maximum)})" if param.exclusive_maximum or param.maximum is None \
        else f"{_bound(param.maximum)}]"
    valid = f"a number in {low}, {high}"
    value = _required(family, params, param, valid)
    if (not isinstance(value, int | float) or isinstance(value, bool)
            or not math.isfinite(value) or not _in_bounds(param, value)):
        raise ValueError(f"{family}: param {param.name!r} must be {valid}, got {value!r}")
    return float(value)


def ops_param(family: str, name: str, value: Any, valid: Iterable[str], min_length: int,
              max_length: int | None = None) -> list[str]:
    """Return value (param `name`) as a list of known op names of an allowed length."""
    valid = sorted(valid)
    length = f"exactly {min_length}" if max_length == min_length else f"at least {min_length}"
    if not isinstance(value, list) or not all(isinstance(op, str) for op in value):
        raise ValueError(f"{family}: param {name!r} must be a list of {length} op names "
                         f"from {valid}, got {value!r}")
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        raise ValueError(f"{family}: param {name!r} must hold {length} op names, "
                         f"got {len(value)}")
    for op in value:
        if op not in valid:
            raise ValueError(f"{family}: unknown op {op!r} in {name!r}; valid ops are {valid}")
    return value
