from __future__ import annotations

import itertools

import numpy as np
from kubenas.engine.pareto import dominates, front, hypervolume_2d


def brute_force(points: list[tuple[float, ...]]) -> list[int]:
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p) or (q == p and j < i) for j, q in enumerate(points)
                       if j != i)]


def test_front_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    for n, k in itertools.product((1, 5, 40), (2, 3)):
        points = [tuple(float(x) for x in rng.integers(0, 6, size=k)) for _ in range(n)]
        assert front(points) == brute_force(points)


def test_hypervolume_of_a_staircase() -> None:
    # Maximise both; reference (0, 0). Points (3,1), (2,2), (1,3) cover 3 + 2 + 1 = 6.
    assert hypervolume_2d([(3, 1), (2, 2), (1, 3), (1, 1)], (0, 0)) == 6.0
    assert hypervolume_2d([(-1, 5)], (0, 0)) == 0.0
