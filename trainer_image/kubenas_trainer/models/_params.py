"""Checks for architecture params, so every family reports bad input the same way.

What a family accepts (names, kinds, bounds, allowed values, op names, list lengths) is
`catalog.FAMILIES`; this module only applies it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..catalog import FAMILIES, Param


def parse_params(family: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate params against the catalog's family; return every param's value.

    Absent optional params get their catalog default; a list whose length is set by an
    int param is cut to that many entries.
    """
    spec = FAMILIES[family]
    check_keys(family, params, [p.name for p in spec.params])
    values: dict[str, Any] = {}
    # Scalars first: a list's length may name an int param.
    for param in sorted(spec.params, key=lambda p: p.is_list):
        if not param.is_list:
            values[param.name] = SCALARS[param.kind](family, params, param)
            continue
        if isinstance(param.length, str):
            length, exact = int(values[param.length]), False
        else:
            length, exact = int(param.length or 0), param.length is not None
        value = params.get(param.name, None if param.required else param.default)
        if param.kind == "ops":
            items = ops_param(family, param.name, value, param.ops, length,
                              length if exact else None)
        else:
            items = list_param(family, param, value, length, exact)
        values[param.name] = list(items[:length])
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


def _valid_int(param: Param) -> str:
    if param.values:
        return f"one of {list(param.values)}"
    high = param.maximum
    if high is not None and param.exclusive_maximum:
        high = math.ceil(high) - 1
    return f"an integer {_bound(param.minimum)}..{_bound(high)}"


def _as_int(param: Param, value: Any) -> int | None:
    """value as an int the param allows (a whole float counts), else None."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    ok = value in param.values if param.values else _in_bounds(param, value)
    return value if ok else None


def int_param(family: str, params: Mapping[str, Any], param: Param) -> int:
    """Return params[name] as an int the param allows, or its default when absent."""
    valid = _valid_int(param)
    value = _required(family, params, param, valid)
    checked = _as_int(param, value)
    if checked is None:
        raise ValueError(f"{family}: param {param.name!r} must be {valid}, got {value!r}")
    return checked


def bool_param(family: str, params: Mapping[str, Any], param: Param) -> bool:
    """Return params[name] as a bool (not 0 or 1: a typo, not a choice), or its default."""
    value = _required(family, params, param, "true or false")
    if not isinstance(value, bool):
        raise ValueError(f"{family}: param {param.name!r} must be true or false, got {value!r}")
    return value


def choice_param(family: str, params: Mapping[str, Any], param: Param) -> str:
    """Return params[name] as one of the param's values, or its default."""
    valid = f"one of {list(param.values)}"
    value = _required(family, params, param, valid)
    if not isinstance(value, str) or value not in param.values:
        raise ValueError(f"{family}: param {param.name!r} must be {valid}, got {value!r}")
    return value


def list_param(family: str, param: Param, value: Any, length: int, exact: bool) -> list[Any]:
    """Return value (an int or bool list param) checked item by item, of an allowed length."""
    valid = "true or false" if param.kind == "bool" else _valid_int(param)
    count = f"exactly {length}" if exact else f"at least {length}"
    what = f"a list of {count} values, each {valid}"
    if value is None:
        raise ValueError(f"{family}: param {param.name!r} is required ({what})")
    if not isinstance(value, list) or len(value) < length or (exact and len(value) > length):
        raise ValueError(f"{family}: param {param.name!r} must be {what}, got {value!r}")
    items = []
    for item in value:
        checked = (item if isinstance(item, bool) else None) if param.kind == "bool" \
            else _as_int(param, item)
        if checked is None:
            raise ValueError(f"{family}: param {param.name!r} must be {what}, got {item!r} "
                             f"in {value!r}")
        items.append(checked)
    return items


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


SCALARS: dict[str, Callable[[str, Mapping[str, Any], Param], Any]] = {
    "int": int_param, "number": number_param, "bool": bool_param, "choice": choice_param,
}
