"""Running aggregates of a trial history, so that each decision costs O(new records).

Backends hand the engine the whole history on every call, usually the same record objects
with a few appended or replaced. Records are immutable, so the first index whose object
differs from the last call's (by identity) is where anything can have changed; prefix
aggregates before it stay valid. The results equal a full rescan: this is caching only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kubenas.api.trials import Trial


class Digest:
    def __init__(self, rank: Callable[[Trial], Any], key: Callable[[Trial], str]) -> None:
        self._rank = rank
        self._key = key
        self._records: list[Trial] = []
        self._best: list[Trial | None] = []
        self._active: list[int] = []
        self._failed: list[Trial | None] = []
        self._failures: list[int] = []
        self._keys: list[str] = []

    def update(self, trials: Sequence[Trial]) -> None:
        same, common = 0, min(len(trials), len(self._records))
        records = self._records
        while same < common and trials[same] is records[same]:
            same += 1
        for column in (records, self._best, self._active, self._failed, self._failures,
                       self._keys):
            del column[same:]
        for t in trials[same:]:
            prev_best = self._best[-1] if self._best else None
            if t.phase == "Succeeded" and self._rank(t) is not None and (
                    prev_best is None or self._rank(t) < self._rank(prev_best)):
                prev_best = t
            failed = t.phase == "Failed"
            records.append(t)
            self._best.append(prev_best)
            self._active.append((self._active[-1] if self._active else 0) + t.active)
            self._failed.append(t if failed else (self._failed[-1] if self._failed else None))
            self._failures.append((self._failures[-1] if self._failures else 0) + failed)
            self._keys.append(self._key(t))

    @property
    def best(self) -> Trial | None:
        return self._best[-1] if self._best else None

    @property
    def active(self) -> int:
        return self._active[-1] if self._active else 0

    @property
    def failures(self) -> int:
        return self._failures[-1] if self._failures else 0

    @property
    def last_failed(self) -> Trial | None:
        return self._failed[-1] if self._failed else None

    @property
    def keys(self) -> list[str]:
        return self._keys
