"""A work queue per experiment: one reconcile at a time, wake-ups coalesced, resync on a timer.

Watch events only say "look again"; many events while a reconcile runs collapse into one
more pass. A worker exists only while its experiment does, and holds nothing but its wake-up
flag, so a restarted operator loses nothing by starting with none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from kubenas.backends.kubernetes.observability import OperatorMetrics
from kubenas.backends.kubernetes.reconcile import Reconciler

log = logging.getLogger(__name__)
Key = tuple[str, str]
IDLE_RESYNC_S = 60.0  # finished experiments: only edits (watch events) matter
MAX_BACKOFF_S = 30.0


class Controller:
    def __init__(self, reconciler: Reconciler, metrics: OperatorMetrics,
                 interval_s: float) -> None:
        self.reconciler = reconciler
        self.metrics = metrics
        self.interval_s = interval_s
        self._wake: dict[Key, asyncio.Event] = {}
        self._workers: dict[Key, asyncio.Task[None]] = {}

    def kick(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        if key not in self._workers:
            self._wake[key] = asyncio.Event()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"reconcile {key}")
        self._wake[key].set()

    async def stop(self) -> None:
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _work(self, key: Key) -> None:
        wake, backoff = self._wake[key], 1.0
        try:
            while True:
                wake.clear()
                started = self.metrics.busy_since[key] = time.monotonic()
                try:
                    exists, active = await asyncio.to_thread(self._reconcile, key)
                    delay, backoff = (self.interval_s if active else IDLE_RESYNC_S), 1.0
                except Exception:
                    log.exception("reconcile of %s/%s failed; retrying in %.0fs", *key, backoff)
                    self.metrics.reconcile_errors.inc()
                    exists, delay, backoff = True, backoff, min(backoff * 2, MAX_BACKOFF_S)
                finally:
                    del self.metrics.busy_since[key]
                    self.metrics.reconcile_duration.observe(time.monotonic() - started)
                if not exists:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                del self._wake[key]

    def _reconcile(self, key: Key) -> tuple[bool, bool]:
        return self.reconciler.reconcile(*key)
