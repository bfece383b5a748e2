"""Pareto dominance and hypervolume for multi-objective search (all objectives maximised)."""

from __future__ import annotations

from collections.abc import Sequence

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True))


def front(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated points, in input order (duplicates kept once).

    Visiting points in decreasing lexicographic order means a point can only be dominated
    by one visited before it, and by transitivity by one already kept: O(n * front size).
    """
    order = sorted(range(len(points)), key=lambda i: (tuple(-x for x in points[i]), i))
    kept: list[int] = []
    for i in order:
        p = tuple(points[i])
        if not any(dominates(points[j], p) or tuple(points[j]) == p for j in kept):
            kept.append(i)
    return sorted(kept)


def hypervolume_2d(points: Sequence[Point], reference: Point) -> float:
    """Area dominated by the points and bounded below by the reference (maximisation)."""
    inside = sorted({(p[0], p[1]) for p in points if p[0] > reference[0] and p[1] > reference[1]},
                    reverse=True)
    area, best_y = 0.0, reference[1]
    for x, y in inside:
        if y > best_y:
            area += (x - reference[0]) * (y - best_y)
            best_y = y
    return area
