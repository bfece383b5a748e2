"""Feature views of cell architectures: dead edges and equivalent encodings coincide."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from kubenas.api.parse import load_file
from kubenas.space.cell import live_ops
from kubenas.space.space import SearchSpace
from kubenas.strategies.features import paths, views

REPO = Path(__file__).resolve().parents[3]
NONE, SKIP, C1, C3, POOL = "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"


def nb201() -> SearchSpace:
    return SearchSpace(load_file(REPO / "benchmarks" / "nb201" / "experiment.yaml").space)


def test_live_ops_zeroes_edges_off_every_input_output_path() -> None:
    cell = nb201().spec.cell
    assert cell is not None
    # edges (1,0) (2,0) (2,1) (3,0) (3,1) (3,2): node 1 gets no input, node 2 feeds nothing
    ops = [NONE, C3, C1, C3, POOL, NONE]
    assert live_ops(ops, cell) == [NONE, NONE, NONE, C3, NONE, NONE]
    full = [C3, C3, C1, SKIP, C3, C1]
    assert live_ops(full, cell) == full


def test_live_ops_keeps_every_input_output_path_of_every_nb201_encoding() -> None:
    space = nb201()
    cell = space.spec.cell
    assert cell is not None
    pruned = set()
    for arch in space.grid():
        ops = list(arch["edges"])
        live = live_ops(ops, cell)
        assert sorted(paths(live, cell)) == sorted(paths(ops, cell))
        assert live_ops(live, cell) == live
        pruned.add(tuple(live))
    assert len(pruned) == 9445  # of 15,625 encodings; relabelled nodes stay apart


def test_views_agree_on_encodings_that_differ_only_in_dead_edges() -> None:
    space = nb201()
    a = {"edges": [NONE, C3, C1, C3, POOL, NONE]}
    b = {"edges": [NONE, SKIP, C3, C3, C1, NONE]}
    c = {"edges": [C3, C3, C1, C3, POOL, NONE]}
    for va, vb, vc in zip(views(space, a), views(space, b), views(space, c), strict=True):
        assert np.array_equal(va, vb)
        assert not np.array_equal(va, vc)
    path = views(space, c)[1]
    assert set(np.unique(path)) <= {0.0, 1.0} and path.sum() == 2  # c3, and c3 then pool
