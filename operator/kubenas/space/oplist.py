"""A space as a supernet or a zero-cost screen sees it: one searched operation list, the rest
fixed.

Both run many candidates inside one trial, so they need the space as the trainer's
`choices` (each slot of the list picks one of these operations) plus the parameters every
candidate shares. The manifest rules (`kubenas.api.schema`) make sure a space of a
one-shot or pre-screened experiment has this shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubenas.api.types import Parameter, SearchSpaceSpec

Architecture = dict[str, Any]


@dataclass(frozen=True)
class OpList:
    fixed: dict[str, Any]
    param: Parameter

    @property
    def choices(self) -> dict[str, list[Any]]:
        """The trainer's `choices`: the searched parameter and its operations."""
        return {self.param.name: list(self.param.choices)}

    def complete(self, searched: Architecture) -> Architecture:
        """A full architecture: the fixed parameters and a candidate's searched list."""
        value = searched.get(self.param.name)
        return {**self.fixed, self.param.name: list(value) if isinstance(value, list) else value}


def split(spec: SearchSpaceSpec) -> OpList:
    """The searched operation list and the fixed values of every other parameter."""
    searched = [p for p in spec.parameters if p.repeat is not None and p.kind == "choice"
                and len(p.choices) > 1]
    if len(searched) != 1:
        raise ValueError(f"expected one searched operation list, found {len(searched)}")
    fixed = {p.name: p.values()[0] for p in spec.parameters if p is not searched[0]}
    return OpList(fixed, searched[0])
