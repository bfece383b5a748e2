"""Watch streams: newline-delimited JSON `WatchEvent`s, with bookmarks and timeouts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .errors import ApiError
from .store import Obj, Store, Watcher


async def serve_watch(
    request: web.Request,
    store: Store,
    watcher: Watcher,
    since: int | None,
    present: Callable[[Obj], Obj],
    bookmark: Callable[[int], Obj] | None,
    timeout: float | None,
    bookmark_interval: float,
    initial_events_end: bool = False,
) -> web.StreamResponse:
    """Replay from `since` (or list what exists when None), then stream live events.

    A `since` older than the kept history ends the stream with an ERROR event carrying a
    410 `Status`, as the real server's watch cache does. With `initial_events_end` (a
    `sendInitialEvents=true` watch-list request) the replay ends with the bookmark that
    client-go's reflector waits for.
    """
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)

    async def send(kind: str, obj: Any) -> None:
        line = json.dumps({"type": kind, "object": obj}) + "\n"
        await response.write(line.encode())

    try:
        initial = store.subscribe(watcher, since)
    except ApiError as err:
        await send("ERROR", err.status())
        return response
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        for kind, obj in initial:
            await send(kind, present(obj))
        if initial_events_end and bookmark is not None:
            end = bookmark(store.rv)
            end["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
            await send("BOOKMARK", end)
        while True:
            wait = bookmark_interval if bookmark else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait = left if wait is None else min(wait, left)
            try:
                item = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if bookmark is not None and watcher.queue.empty():
                    await send("BOOKMARK", bookmark(store.rv))
                continue
            if item is None:
                break
            kind, obj = item
            await send(kind, present(obj))
    except ConnectionResetError:
        pass
    finally:
        store.unsubscribe(watcher)
    return response
