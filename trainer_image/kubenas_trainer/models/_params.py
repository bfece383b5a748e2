"""Checks for architecture params, so every family reports bad input the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def check_keys(family: str, params: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Reject unknown params: a typo must fail the trial, not silently use a default."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"{family}: unknown params {unknown}; valid params are {sorted(allowed)}"
        )


def int_param(family: str, params: Mapping[str, Any], name: str, default: int | None,
              low: int, high: int) -> int:
    """Return params[name] as an int in [low, high], or the default when absent."""
    value = params.get(name, default)
    if value is None:
        raise ValueError(f"{family}: param {name!r} is required (an integer {low}..{high})")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{family}: param {name!r} must be an integer {low}..{high}, "
                         f"got {value!r}")
    return value


def ops_param(family: str, params: Mapping[str, Any], name: str, valid: Iterable[str],
              min_length: int, max_length: int | None = None) -> list[str]:
    """Return params[name] as a list of known op names of an allowed length."""
    valid = sorted(valid)
    value = params.get(name)
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
