"""The space of a search that runs inside one trial (a supernet, a bulk zero-cost search):
a family's fixed params and its op-list param, each slot one of `choices`.

Built from the contract before any data loads, so a space that cannot be filled into valid
architectures is bad input (exit 2) like any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import FAMILIES
from .models import check_architecture
from .models._params import int_param

# A path picks one choice per slot, by index into OpListSpace.choices.
Path = tuple[int, ...]


@dataclass(frozen=True)
class OpListSpace:
    """One family's op list, searched slot by slot among `choices`."""

    family: str
    fixed: dict[str, Any]
    param: str
    choices: tuple[str, ...]
    slots: int

    @classmethod
    def of(cls, architecture: Mapping[str, Any], param: str,
           choices: tuple[str, ...]) -> OpListSpace:
        """The space of a validated contract; ValueError when some filling is invalid."""
        family, fixed = architecture["family"], dict(architecture["params"])
        spec = FAMILIES[family].param(param)
        assert spec is not None  # the contract checked it
        if isinstance(spec.length, str):
            length = FAMILIES[family].param(spec.length)
            assert length is not None
            slots = int_param(family, fixed, length)
        else:
            slots = int(spec.length or 0)
        space = cls(family, fixed, param, choices, slots)
        for index in range(len(choices)):  # every slot filled with each choice parses
            check_architecture(family, space.architecture((index,) * slots)["params"])
        return space

    @property
    def size(self) -> int:
        return len(self.choices) ** self.slots

    def params(self, ops: Sequence[str]) -> dict[str, Any]:
        """The architecture params of one candidate, given by its ops."""
        return {**self.fixed, self.param: list(ops)}

    def architecture(self, path: Sequence[int]) -> dict[str, Any]:
        """The architecture JSON of one path (the fixed params plus the searched list)."""
        return {"family": self.family, "params": {**self.fixed, **self.searched(path)}}

    def searched(self, path: Sequence[int]) -> dict[str, list[str]]:
        """Only the searched param of a path, as the result reports it."""
        return {self.param: [self.choices[i] for i in path]}
