"""Lookup tables: one CSV row per architecture, read once per process.

Columns named in a manifest become float arrays; the key column maps an architecture's key
string to its row. Parsing is done with the csv module into numpy arrays, and cached per
resolved path and modification time, so a benchmark's thousands of runs share one load.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kubenas.api.types import Experiment, TabularSpec


@dataclass(frozen=True)
class Table:
    """The columns of one CSV, and the row of every key."""

    path: str
    rows: dict[str, int]
    columns: dict[str, np.ndarray]

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise KeyError(f"{self.path} has no numeric column {name!r}; "
                           f"valid: {', '.join(sorted(self.columns))}")
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.rows)


def table_path(exp: Experiment) -> Path:
    """The table file of a tabular experiment, relative to its manifest."""
    tab = _spec(exp)
    path = Path(tab.table)
    if not path.is_absolute():
        path = Path(exp.source).resolve().parent / path
    return path


def load_for(exp: Experiment) -> Table:
    tab = _spec(exp)
    return load(table_path(exp), tab.key_column)


def load(path: str | Path, key_column: str) -> Table:
    resolved = Path(path).resolve()
    return _load(str(resolved), resolved.stat().st_mtime_ns, key_column)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, key_column: str) -> Table:
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = list(reader)
    if key_column not in header:
        raise KeyError(f"{path} has no key column {key_column!r}; valid: {', '.join(header)}")
    key_at = header.index(key_column)
    rows: dict[str, int] = {}
    for i, record in enumerate(records):
        rows.setdefault(record[key_at], i)
    columns = {}
    for j, name in enumerate(header):
        try:
            columns[name] = np.array([float(r[j]) for r in records], dtype=np.float64)
        except ValueError:
            continue  # a text column (such as the key) has no numeric view
    return Table(path, rows, columns)


def _spec(exp: Experiment) -> TabularSpec:
    if exp.tabular is None:
        raise ValueError(f"{exp.source}: spec.tabular is not set; this is not a tabular benchmark")
    return exp.tabular
