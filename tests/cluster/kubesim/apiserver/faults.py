"""Fault injection for tests: failing requests, dropped watches, compacted history."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .errors import ApiError
from .store import Store

_MESSAGES = {
    409: "Operation cannot be fulfilled: injected conflict",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "The service is unavailable.",
}


@dataclass
class _Rule:
    remaining: int
    status: int
    method: str | None
    path: re.Pattern[str] | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path.search(path) is not None)


class Faults:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def fail_next(self, n: int, status: int, method: str | None = None,
                  path_regex: str | None = None) -> None:
        """Answer the next `n` matching requests with `status` and a proper Status body."""
        pattern = re.compile(path_regex) if path_regex else None
        with self._lock:
            self._rules.append(_Rule(n, status, method, pattern))

    def close_watches(self) -> None:
        """End every open watch stream, as an API server restart or a proxy timeout would."""
        self._store.close_watches()

    def compact(self) -> None:
        """Forget the event history: watches from older resourceVersions get 410 Gone."""
        self._store.compact()

    def take(self, method: str, path: str) -> ApiError | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return _error(rule.status)
        return None


def _error(status: int) -> ApiError:
    message = _MESSAGES.get(status, f"injected fault {status}")
    if status == 429:
        return ApiError(429, message, details={"retryAfterSeconds": 1},
                        headers={"Retry-After": "1"})
    return ApiError(status, message)
