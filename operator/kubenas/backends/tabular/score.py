"""How a benchmark judges a run: on held-back report metrics, never on what the search saw.

Each objective is scored on the column `tabular.judge` names for it (a report metric such as
test accuracy), or else on its own static column (such as latency). A single-objective run
scores the returned best; a multi-objective run scores the hypervolume of the returned Pareto
front relative to the hypervolume of the whole table's front.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from kubenas.api.types import Experiment, Objective
from kubenas.backends.tabular.simulate import Answers
from kubenas.engine.pareto import hypervolume_2d


class Scorer:
    def __init__(self, exp: Experiment, answers: Answers) -> None:
        tab = exp.tabular
        assert tab is not None
        self.objectives: tuple[Objective, ...] = exp.objective.all
        self.columns = [self._column(o.metric, exp, answers) for o in self.objectives]
        self.reference = [o.score(tab.reference[o.metric]) if o.metric in tab.reference
                          else float(np.min(_scored(o, col)))
                          for o, col in zip(self.objectives, self.columns, strict=True)]

    @staticmethod
    def _column(metric: str, exp: Experiment, answers: Answers) -> np.ndarray:
        tab = exp.tabular
        assert tab is not None
        if metric in tab.judge:
            return answers.report[tab.judge[metric]]
        if metric in answers.static:
            return answers.static[metric]
        raise ValueError(f"{exp.source}: objective {metric!r} has no judged column; map it in "
                         "spec.tabular.judge to a reportMetrics entry, or make it a "
                         "staticMetrics entry")

    def figure(self, row: int) -> float:
        """The primary objective's judged value at a row (e.g. its test accuracy)."""
        return float(self.columns[0][row])

    def points(self, rows: list[int] | np.ndarray) -> list[list[float]]:
        """Judged values of rows, each objective turned so that larger is better."""
        idx = np.asarray(rows, dtype=np.int64)
        scored = [_scored(o, col[idx])
                  for o, col in zip(self.objectives, self.columns, strict=True)]
        return np.stack(scored, axis=1).tolist() if len(idx) else []

    def hypervolume(self, rows: list[int] | np.ndarray) -> float:
        if len(self.objectives) != 2:
            raise ValueError("hypervolume is implemented for two objectives")
        return hypervolume_2d(self.points(rows), self.reference)

    @cached_property
    def best_hypervolume(self) -> float:
        """Hypervolume of the true front: every row of the table."""
        return self.hypervolume(np.arange(len(self.columns[0])))

    def hv_ratio(self, rows: list[int]) -> float:
        return self.hypervolume(rows) / self.best_hypervolume


def _scored(objective: Objective, values: np.ndarray) -> np.ndarray:
    return values if objective.direction == "maximize" else -values
