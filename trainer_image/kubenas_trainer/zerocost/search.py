"""A bulk zero-cost search: score many architectures of one space without training any.

A pod can score thousands of candidates: the data and its one minibatch are loaded once,
each candidate is built, scored and dropped, and only the scores are kept to rank them.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..contract import Contract, ZeroCostConfig
from ..data import Dataset
from ..metrics_server import TrialMetrics
from ..models import build_model
from ..oplist import OpListSpace
from ..report import MAX_BYTES, SCORE_DIGITS, fit, result_budget, rounded
from .proxies import Scores, minibatch, score

PROGRESS_LOGS = 10  # progress lines per search


def search_space(architecture: Mapping[str, Any],
                 config: ZeroCostConfig | None) -> OpListSpace | None:
    """The space of a bulk search (None for an ordinary trial), checked like an architecture:
    a bad fixed param raises ValueError naming it, before any data loads."""
    if config is None or config.param is None:
        return None
    return OpListSpace.of(architecture, config.param, config.choices)


def candidates(space: OpListSpace, sample: int, seed: int) -> list[tuple[str, ...]]:
    """`sample` distinct op lists, each slot drawn uniformly from the choices (seeded), in
    the order drawn; the whole space in product order when it has no more than `sample`."""
    if space.size <= sample:
        return list(itertools.product(space.choices, repeat=space.slots))
    rng = random.Random(seed)
    drawn: dict[tuple[str, ...], None] = {}  # an ordered set
    while len(drawn) < sample:
        drawn[tuple(rng.choice(space.choices) for _ in range(space.slots))] = None
    return list(drawn)


def average_ranks(values: Sequence[float | None]) -> np.ndarray:
    """Rank 1 for the highest value, ties sharing their mean rank, None below every number."""
    keys = np.array([np.inf if v is None else -v for v in values], dtype=float)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2)[inverse]


def ranking(rows: Sequence[Scores], proxies: Sequence[str]) -> list[int]:
    """Row indices, best first: by the mean over proxies of each row's rank; rows with the
    same mean keep their order."""
    mean = np.mean([average_ranks([row[p] for row in rows]) for p in proxies], axis=0)
    return sorted(range(len(rows)), key=lambda i: float(mean[i]))


@dataclass(frozen=True)
class Search:
    """A validated bulk search, ready to run."""

    contract: Contract
    data: Dataset
    space: OpListSpace
    device: torch.device
    termination_log: str | None


def run_search(search: Search, metrics: TrialMetrics, log: Callable[[str], None],
               warn: Callable[[str], None]) -> dict[str, Any]:
    """Score the search's candidates; return the result (docs/trial-contract.md, `zeroCost`).

    Progress goes to metric `scored` after each candidate and to a log line about every
    tenth of the way. A proxy that fails is null for that candidate; its first failure is
    logged.
    """
    contract, space = search.contract, search.space
    config = contract.zero_cost
    assert config is not None
    data = search.data.to(search.device)
    x, y = minibatch(data, config.batch_size, contract.seed)
    drawn = candidates(space, config.sample, contract.seed)
    log(f"{contract.trial}: scoring {len(drawn)} of {space.size} {space.family} architectures "
        f"({', '.join(config.proxies)}) on {len(x)} samples")
    every = max(1, math.ceil(len(drawn) / PROGRESS_LOGS))
    failed: set[str] = set()
    rows: list[Scores] = []
    start = time.perf_counter()
    for done, ops in enumerate(drawn, 1):
        torch.manual_seed(contract.seed)  # each candidate initialised as its own trial would be
        model = build_model(space.family, space.params(ops), data.in_shape, data.num_classes)
        scores, errors = score(model.to(search.device), x, y, config.proxies, contract.seed)
        rows.append(scores)
        for name in (name for name in errors if name not in failed):
            failed.add(name)
            warn(f"zero-cost proxy {name} failed on {space.param}={list(ops)}: {errors[name]}; "
                 f"null there (later failures of {name} are not logged)")
        metrics.report({"scored": done})
        if done % every == 0 or done == len(drawn):
            seconds = time.perf_counter() - start
            log(f"{contract.trial}: scored {done}/{len(drawn)} in {seconds:.1f} s "
                f"({1000 * seconds / done:.1f} ms per architecture)")
    per_arch = (time.perf_counter() - start) / len(drawn)
    metrics.report({"seconds_per_arch": per_arch})
    result = bulk_result(contract.budget, space.param, drawn, rows, config.proxies, config.top,
                         per_arch)
    listed = len(result["zeroCost"]["top"])
    if listed < min(config.top, len(rows)):
        warn(f"the result lists the best {listed} architectures, not {config.top}, to fit "
             f"the {MAX_BYTES}-byte termination message")
    return result


def bulk_result(budget: float, param: str, drawn: Sequence[Sequence[str]],
                rows: Sequence[Scores], proxies: Sequence[str], top: int,
                seconds_per_arch: float) -> dict[str, Any]:
    """The contract's result of a bulk search: the `top` best candidates by mean rank, fewer
    when that many would not fit the termination message."""
    best = [{"params": {param: list(drawn[i])},
             "scores": {p: rounded(rows[i][p], SCORE_DIGITS) for p in proxies}}
            for i in ranking(rows, proxies)[:top]]
    result: dict[str, Any] = {
        "metrics": {"scored": len(rows),
                    "seconds_per_arch": rounded(seconds_per_arch, SCORE_DIGITS)},
        "budget": result_budget(budget), "epochs_trained": 0, "steps_trained": 0,
        "resumed_from_epoch": None, "checkpoint": None, "curve": [],
        "zeroCost": {"proxies": list(proxies), "scored": len(rows), "top": best},
    }
    fit(result, best)
    return result
