"""The search space of a one-shot trial: the family's fixed params, its op-list param, and
the ops each slot of that list chooses among.

Built before any data loads, so a space that cannot be filled into valid architectures is
bad input (exit 2) like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..catalog import FAMILIES
from ..contract import SupernetConfig
from ..models import FAMILIES as MODELS
from ..models import macro_cnn, nb201
from ..models._params import int_param

# Each family's op table: a supernet builds its mixed ops from the very modules the
# family's networks use.
OPS = {nb201.FAMILY: nb201.OPS, macro_cnn.FAMILY: macro_cnn.OPS}

# A path picks one choice per slot, by index into SearchSpace.choices.
Path = tuple[int, ...]


@dataclass(frozen=True)
class SearchSpace:
    """One family's op list, searched slot by slot among `choices`."""

    family: str
    fixed: dict[str, Any]
    param: str
    choices: tuple[str, ...]
    slots: int

    @classmethod
    def of(cls, architecture: dict[str, Any], config: SupernetConfig) -> SearchSpace:
        """The space of a validated contract; ValueError when some filling is invalid."""
        family, fixed = architecture["family"], architecture["params"]
        param = FAMILIES[family].param(config.param)
        assert param is not None  # the contract checked it
        if isinstance(param.length, str):
            length = FAMILIES[family].param(param.length)
            assert length is not None
            slots = int_param(family, fixed, length)
        else:
            slots = int(param.length or 0)
        space = cls(family, dict(fixed), config.param, config.choices, slots)
        for index in range(len(space.choices)):  # every slot filled with each choice parses
            MODELS[family].parse(space.architecture((index,) * slots)["params"])
        return space

    def architecture(self, path: Sequence[int]) -> dict[str, Any]:
        """The architecture JSON of one path (the fixed params plus the searched list)."""
        return {"family": self.family, "params": {**self.fixed, **self.searched(path)}}

    def searched(self, path: Sequence[int]) -> dict[str, list[str]]:
        """Only the searched param of a path, as the result reports it."""
        return {self.param: [self.choices[i] for i in path]}
