"""The dashboard's HTTP server: the page, its static files and a read-only JSON API.

Standard library only (ThreadingHTTPServer), so the dashboard runs wherever kubenas does.
Every answer is built from the source when asked; the page polls for live updates.

    GET /                       the page
    GET /static/<file>          its script, style and the vendored chart library
    GET /api/experiments        the experiments list
    GET /api/overview?id=       one experiment's charts
    GET /api/trials?id=&sort=&order=&q=&phase=&page=&size=
    GET /api/trial?id=&name=    one trial
    GET /healthz                liveness (the chart's probes)
"""

from __future__ import annotations

import functools
import gzip
import json
import mimetypes
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from kubenas.dashboard import views
from kubenas.dashboard.views import BadQuery, NotFound, ReadError, Snapshot

STATIC = resources.files("kubenas.dashboard") / "static"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


GZIP_MIN = 2048


@functools.lru_cache(maxsize=8)
def _static_gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _gzip(data: bytes) -> bytes:
    """Static files are compressed once (cached by content); answers each time, quickly."""
    return _static_gzip(data) if len(data) > 100_000 else gzip.compress(data, 4, mtime=0)


class Source(Protocol):
    mode: str

    def describe(self) -> str: ...
    def snapshots(self) -> list[Snapshot]: ...
    def snapshot(self, exp_id: str) -> Snapshot: ...


class Cache:
    """The last few answers by what they were built from: a page polled while nothing
    changes costs a file stat or one list call, not a rebuild of every chart."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.entries: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], dict[str, Any]],
            usable: bool = True) -> dict[str, Any]:
        if not usable:
            return build()
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        value = build()
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value


def make_server(source: Source, host: str, port: int, poll_s: float) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"source": source, "poll_s": poll_s,
                                            "cache": Cache()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


class _Handler(BaseHTTPRequestHandler):
    source: Source
    poll_s: float
    cache: Cache
    server_version = "kubenas-dashboard"

    def log_message(self, format: str, *args: Any) -> None:
        return None  # one line per poll would drown the terminal

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query))
        if url.path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", TYPES[".txt"], "no-store")
        elif url.path in ("/", "/index.html"):
            self._static("index.html")
        elif url.path.startswith("/static/"):
            self._static(url.path.removeprefix("/static/"))
        elif url.path.startswith("/api/"):
            self._api(url.path.removeprefix("/api/"), params)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no page {url.path}"})

    def _api(self, route: str, params: dict[str, str]) -> None:
        try:
            body = self._answer(route, params)
        except NotFound as exc:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except BadQuery as exc:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except ReadError as exc:
            self._send_json(HTTPStatus.BAD_GATEWAY, {"error": str(exc)})
        except Exception as exc:  # a bug: say so on the page and in one line here
            print(f"kubenas: dashboard: {self.path}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR,
                            {"error": f"internal error: {type(exc).__name__}: {exc}"})
        else:
            self._send_json(HTTPStatus.OK, body)

    def _answer(self, route: str, params: dict[str, str]) -> dict[str, Any]:
        if route == "experiments":
            rows = [views.experiment_row(s) for s in self.source.snapshots()]
            return {"mode": self.source.mode, "source": self.source.describe(),
                    "pollSeconds": self.poll_s, "experiments": rows}
        exp_id = params.get("id")
        if not exp_id:
            raise BadQuery("id is required")
        snapshot = self.source.snapshot(exp_id)
        if route == "overview":
            return self.cache.get(("overview", exp_id, snapshot.version),
                                  lambda: views.overview(snapshot), bool(snapshot.version))
        now = None if snapshot.exp is None or snapshot.exp.tabular else time.time()
        if route == "trials":
            return views.trials_page(snapshot, views.parse_query(params), now)
        if route == "trial":
            return views.trial_detail(snapshot, params.get("name") or "", now)
        raise NotFound(f"no API route {route!r}")

    def _static(self, name: str) -> None:
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts):
            self._send_json(HTTPStatus.NOT_FOUND, {"error": "no such file"})
            return
        target = STATIC.joinpath(*parts)
        if not target.is_file():
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no file {name}"})
            return
        suffix = "." + name.rsplit(".", 1)[-1]
        kind = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, target.read_bytes(), kind, "max-age=60")

    def _send_json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, data, "application/json", "no-store")

    def _send(self, status: HTTPStatus, data: bytes, kind: str, cache: str) -> None:
        """Compressed when the browser accepts it and it pays (the chart library is 1.1 MB;
        port-forwards are slow)."""
        gzipped = len(data) >= GZIP_MIN and "gzip" in self.headers.get("Accept-Encoding", "")
        if gzipped:
            data = _gzip(data)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(data)
