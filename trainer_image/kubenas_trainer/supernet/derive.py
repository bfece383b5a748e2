"""Reading architectures out of a trained supernet: the k most probable paths (darts,
drnas) and an evolutionary search over the supernet's scores (spos)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

from ..oplist import Path


def k_best(log_probs: list[list[float]], k: int, limited: list[bool],
           limit: int) -> list[Path]:
    """The k distinct paths of highest total log-probability, best first (ties: lower choice
    indices first), among those with at most `limit` slots on a `limited` choice.

    Exact: a beam per count of limited choices used so far, each keeping its k best
    prefixes (a prefix outside its beam has k better ones that take any suffix it could).
    """
    beams: dict[int, list[tuple[float, Path]]] = {0: [(0.0, ())]}
    for row in log_probs:
        grown: dict[int, list[tuple[float, Path]]] = {}
        for used, prefixes in beams.items():
            for total, prefix in prefixes:
                for choice, log_p in enumerate(row):
                    count = used + limited[choice]
                    if count <= limit:
                        grown.setdefault(count, []).append((total + log_p, (*prefix, choice)))
        beams = {used: heapq.nsmallest(k, items, key=_rank) for used, items in grown.items()}
    return [path for _, path in heapq.nsmallest(k, (x for b in beams.values() for x in b),
                                                 key=_rank)]


def _rank(item: tuple[float, Path]) -> tuple[float, Path]:
    return -item[0], item[1]


def evolve(score: Callable[[Path], float], slots: int, choices: int, population: int,
           cycles: int, seed: int, mutation_rate: float = 0.1) -> dict[Path, float]:
    """SPOS's evolutionary search; return every path it scored, in the order scored.

    A random first population, then `cycles` generations, each bred from the better half
    of all paths scored so far: half by mutation (one slot always changes, every other one
    with `mutation_rate`), half by uniform crossover of two parents. Only unseen paths are
    scored; a small space simply runs out of them.
    """
    rng = random.Random(seed)
    scored: dict[Path, float] = {}

    def fresh(make: Callable[[], Path]) -> list[Path]:
        paths: list[Path] = []
        for _ in range(20 * population):
            if len(paths) == population:
                break
            p = make()
            if p not in scored and p not in paths:
                paths.append(p)
        return paths

    def score_all(paths: list[Path]) -> None:
        for p in paths:
            scored[p] = score(p)

    def mutate(parent: Path) -> Path:
        child = [rng.randrange(choices) if rng.random() < mutation_rate else c for c in parent]
        slot = rng.randrange(slots)
        child[slot] = rng.choice([c for c in range(choices) if c != parent[slot]])
        return tuple(child)

    score_all(fresh(lambda: tuple(rng.randrange(choices) for _ in range(slots))))
    for _ in range(cycles):
        ranked = sorted(scored, key=lambda p: -scored[p])  # stable: earlier paths win ties
        parents = ranked[:max(2, population // 2)]

        def breed(parents: list[Path] = parents) -> Path:
            if len(parents) < 2 or rng.random() < 0.5:
                return mutate(rng.choice(parents))
            a, b = rng.sample(parents, 2)
            return tuple(rng.choice(pair) for pair in zip(a, b, strict=True))

        children = fresh(breed)
        if not children:
            break
        score_all(children)
    return scored
