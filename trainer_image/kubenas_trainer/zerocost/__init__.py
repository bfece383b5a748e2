"""Zero-cost proxies (KUBENAS_ZEROCOST): rank architectures without training them.

An ordinary trial adds its architecture's proxies to its metrics as `zc_<proxy>`; a bulk
search (`search.py`) scores many architectures of one space and reports the best.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

from torch import nn

from ..contract import ZeroCostConfig
from ..data import Dataset
from .proxies import Scores, minibatch, score
from .search import Search, average_ranks, candidates, ranking, run_search, search_space


def trial_metrics(model: nn.Module, data: Dataset, config: ZeroCostConfig, seed: int,
                  warn: Callable[[str], None]) -> dict[str, float]:
    """The `zc_<proxy>` metrics of a trial's freshly initialised model, scored on a copy so
    that training starts from the same weights and RNG state. A proxy that fails is NaN (null
    in the result) with a warning, and the trial trains on."""
    x, y = minibatch(data, config.batch_size, seed)
    scores, errors = score(copy.deepcopy(model), x, y, config.proxies, seed)
    for name, error in errors.items():
        warn(f"zero-cost proxy {name} failed: {error}; reported as null")
    return {f"zc_{name}": math.nan if value is None else value for name, value in scores.items()}


__all__ = ["Scores", "Search", "average_ranks", "candidates", "minibatch", "ranking",
           "run_search", "score", "search_space", "trial_metrics"]
