"""A work queue per experiment: one reconcile at a time, wake-ups coalesced, resync on a timer.

Watch events only say "look again"; many events while a reconcile runs collapse into one
more pass. A worker exists only while its experiment does, and holds nothing but its wake-up
flag, so a restarted operator loses nothing by starting with none. Passes run in a thread pool
of their own, sized for many experiments at once (asyncio's default pool has only CPUs + 4
threads, and a pass mostly waits on the API server), so one slow experiment never holds back
another. Each pass reads its trials and pods from a
snapshot of the watched indices, taken here in the event loop, where Kopf writes them. Only
the leader (see `leader`) reconciles; the other replicas keep their indices warm.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from kubenas.backends.kubernetes.observability import OperatorMetrics
from kubenas.backends.kubernetes.reconcile import PassResult, Reconciler
from kubenas.backends.kubernetes.sources import Source

log = logging.getLogger(__name__)
Key = tuple[str, str]
STALE_RETRY_S = 0.05  # a write met a newer version: the watch brings it in a moment
MAX_BACKOFF_S = 10.0
PASS_THREADS = 64  # experiments reconciled at the same moment; more wait their turn


class Controller:
    def __init__(self, reconciler: Reconciler, metrics: OperatorMetrics,
                 interval_s: float, snapshot: Callable[[Key], Source] | None = None,
                 leading: Callable[[], bool] = lambda: True) -> None:
        self.reconciler = reconciler
        self.metrics = metrics
        self.interval_s = interval_s
        self.snapshot = snapshot
        self.leading = leading
        self._wake: dict[Key, asyncio.Event] = {}
        self._workers: dict[Key, asyncio.Task[None]] = {}
        self._threads = ThreadPoolExecutor(PASS_THREADS, thread_name_prefix="reconcile")

    def kick(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        if key not in self._workers:
            self._wake[key] = asyncio.Event()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"reconcile {key}")
        self._wake[key].set()

    def kick_all(self) -> None:
        """Look at every known experiment again (e.g. this replica just became leader)."""
        for event in self._wake.values():
            event.set()

    async def stop(self) -> None:
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _work(self, key: Key) -> None:
        wake, backoff = self._wake[key], 1.0
        try:
            while True:
                wake.clear()
                delay: float | None
                if not self.leading():
                    delay = None  # woken again when leadership changes
                else:
                    result, delay, backoff = await self._pass(key, backoff)
                    if not result.exists:
                        return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                del self._wake[key]

    async def _pass(self, key: Key, backoff: float) -> tuple[PassResult, float | None, float]:
        """One reconcile; (its result, seconds until the next unless woken, next backoff)."""
        started = self.metrics.busy_since[key] = time.monotonic()
        source = self.snapshot(key) if self.snapshot is not None else None
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                self._threads, functools.partial(self.reconciler.reconcile, *key, source))
        except Exception:
            log.exception("reconcile of %s/%s failed; retrying in %.0fs", *key, backoff)
            self.metrics.reconcile_errors.inc()
            return PassResult(True, True), backoff, min(backoff * 2, MAX_BACKOFF_S)
        finally:
            del self.metrics.busy_since[key]
            self.metrics.reconcile_duration.observe(time.monotonic() - started)
        if result.stale:
            return result, STALE_RETRY_S, 1.0
        # A finished experiment only changes when edited, which wakes it.
        return result, self.interval_s if result.active else None, 1.0
