"""Fault injection for tests: failing requests, dropped watches, compacted history."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .resources import ResourceType
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


@dataclass
class _Denial:
    remaining: int
    kind: str
    webhook: str
    message: str
    code: int
    reason: str
    operations: tuple[str, ...]
    namespace: str | None

    def matches(self, operation: str, rt: ResourceType, namespace: str) -> bool:
        return (operation in self.operations
                and self.kind in (rt.plural, rt.kind, f"{rt.plural}.{rt.group}")
                and self.namespace in (None, namespace))


class Faults:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._rules: list[_Rule] = []
        self._denials: list[_Denial] = []
        self._lock = threading.Lock()

    def fail_next(self, n: int, status: int, method: str | None = None,
                  path_regex: str | None = None) -> None:
        """Answer the next `n` matching requests with `status` and a proper Status body."""
        pattern = re.compile(path_regex) if path_regex else None
        with self._lock:
            self._rules.append(_Rule(n, status, method, pattern))

    def deny_next(self, kind: str, webhook: str = "deny.kubesim.io", message: str = "",
                  code: int = 403, reason: str = "", n: int = 1,
                  operations: tuple[str, ...] = ("CREATE",),
                  namespace: str | None = None) -> None:
        """Deny the next `n` writes of `kind` (plural, `plural.group` or Kind) as a
        validating admission webhook named `webhook` would deny them.

        The answer is the webhook's result made a Status, as `webhookerrors.ToStatusErr`
        does: `admission webhook "NAME" denied the request: MESSAGE` (`... without
        explanation` when the webhook gave no message or reason), with the webhook's code
        (400 when it gave one below 400) and reason. Runs after PodSecurity and before
        ResourceQuota, as the real plugin order has it; dry-run requests are denied too.
        """
        with self._lock:
            self._denials.append(_Denial(n, kind, webhook, message, code, reason,
                                         tuple(o.upper() for o in operations), namespace))

    def take_denial(self, operation: str, rt: ResourceType, obj: dict[str, Any],
                    namespace: str) -> ApiError | None:
        with self._lock:
            for rule in self._denials:
                if rule.remaining > 0 and rule.matches(operation, rt, namespace):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._denials.remove(rule)
                    break
            else:
                return None
        denied = f'admission webhook "{rule.webhook}" denied the request'
        text = rule.message or rule.reason
        message = f"{denied}: {text}" if text else f"{denied} without explanation"
        return ApiError(max(rule.code, 400), message, reason=rule.reason)

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
