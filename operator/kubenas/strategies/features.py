"""Feature views of architectures for surrogate models.

Every space has the one-hot view (`SearchSpace.encode`: one-hot choices, [0, 1] ranges).
A space that declares a DAG `cell` also has the path view (White et al., BANANAS, 2021):
the cell's operation list is replaced by one 0/1 feature per possible operation sequence,
set when some input-to-output path computes it; paths through the zero op vanish and the
identity op drops out of a sequence. Equivalent encodings then get equal features, and the
features say what computation reaches the output rather than which slot holds which op.
In the one-hot view of a cell, edges off every input-to-output path read as the zero op, so
encodings that differ only in dead edges coincide there too. Only the space declaration is
used. Measurements behind these choices: docs/decisions/0002-default-strategy.md.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from kubenas.api.types import Cell, Parameter
from kubenas.space.cell import live_ops
from kubenas.space.space import Architecture, SearchSpace


def views(space: SearchSpace, arch: Architecture) -> tuple[np.ndarray, ...]:
    """Every feature view of an architecture (shared arrays: do not modify)."""
    return space.memo("views", arch, lambda a: _views(space, a))


def stack(space: SearchSpace, archs: list[Architecture]) -> list[np.ndarray]:
    """One matrix per view, a row per architecture."""
    rows = [views(space, a) for a in archs]
    return [np.stack([r[v] for r in rows]) for v in range(len(rows[0]))]


def _views(space: SearchSpace, arch: Architecture) -> tuple[np.ndarray, ...]:
    cell = space.spec.cell
    if cell is None:
        return (space.encode(arch),)
    ops = list(arch[cell.parameter])
    one_hot = space.encode({**arch, cell.parameter: live_ops(ops, cell)})
    index = _sequence_index(space.spec.parameter(cell.parameter), cell)
    present = np.zeros(len(index))
    for seq in paths(ops, cell):
        present[index[seq]] = 1.0
    start, width = _span(space, cell.parameter)
    path_view = np.concatenate([one_hot[:start], one_hot[start + width:], present])
    for view in (one_hot, path_view):
        view.flags.writeable = False
    return one_hot, path_view


def paths(ops: list[str], cell: Cell) -> list[tuple[str, ...]]:
    """Operation sequences of every live input-to-output path, identities dropped."""
    incoming: dict[int, list[tuple[int, str]]] = {}
    for (target, source), op in zip(cell.edges, ops, strict=True):
        if op != cell.zero_op:
            incoming.setdefault(target, []).append((source, op))
    out: list[tuple[str, ...]] = []

    def walk(node: int, suffix: tuple[str, ...]) -> None:
        if node == 0:
            out.append(suffix)
            return
        for source, op in incoming.get(node, []):
            walk(source, suffix if op == cell.identity_op else (op, *suffix))

    walk(cell.nodes - 1, ())
    return out


@lru_cache(maxsize=64)
def _sequence_index(param: Parameter, cell: Cell) -> dict[tuple[str, ...], int]:
    ops = [str(c) for c in param.choices if c not in (cell.zero_op, cell.identity_op)]
    seqs = [s for n in range(cell.nodes) for s in itertools.product(ops, repeat=n)]
    return {s: i for i, s in enumerate(seqs)}


def _span(space: SearchSpace, name: str) -> tuple[int, int]:
    """Where a parameter's block sits in `SearchSpace.encode`."""
    start = 0
    for p in space.parameters:
        width = (len(p.choices) if p.kind == "choice" else 1) * space.max_count(p)
        if p.name == name:
            return start, width
        start += width
    raise KeyError(name)
