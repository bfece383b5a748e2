"""Model families by name: the only place that maps an architecture JSON to a module."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from torch import nn

from . import macro_cnn, mobilenet, nb201, reference


class Family(NamedTuple):
    """How to validate and build one family's architectures."""

    parse: Callable[[Mapping[str, Any]], object]
    build: Callable[[Mapping[str, Any], tuple[int, int, int], int], nn.Module]


FAMILIES: dict[str, Family] = {
    macro_cnn.FAMILY: Family(macro_cnn.parse, macro_cnn.build),
    nb201.FAMILY: Family(nb201.parse, nb201.build),
    mobilenet.FAMILY: Family(mobilenet.parse, mobilenet.build),
    reference.FAMILY: Family(reference.parse, reference.build),
}


def _family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown architecture family {name!r}; valid families are "
                         f"{sorted(FAMILIES)}")
    return FAMILIES[name]


def check_architecture(family: str, params: Mapping[str, Any]) -> None:
    """Validate an architecture without building it (cheap; runs before data loads)."""
    _family(family).parse(params)


def build_model(family: str, params: Mapping[str, Any], in_shape: tuple[int, int, int],
                num_classes: int) -> nn.Module:
    """Build the model for `family`; raise ValueError naming the problem on bad input."""
    return _family(family).build(params, in_shape, num_classes)


__all__ = ["FAMILIES", "build_model", "check_architecture"]
