"""The dashboard's HTTP server over a fake source: routes, status codes, static files."""

from __future__ import annotations

import gzip
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from kubenas.dashboard.server import make_server
from kubenas.dashboard.views import NotFound, ReadError, Snapshot

from .test_views import experiment, snap, trial


class Source:
    mode = "local"

    def __init__(self) -> None:
        exp = experiment()
        self.snap = replace(snap(exp, [trial(i, ["a"] * (1 + i % 3), i / 10)
                                       for i in range(5)]), version="v1")

    def describe(self) -> str:
        return "fake"

    def snapshots(self) -> list[Snapshot]:
        return [self.snap]

    def snapshot(self, exp_id: str) -> Snapshot:
        if exp_id == "broken":
            raise ReadError("result.json: not valid JSON")
        if exp_id == "bug":
            raise RuntimeError("boom")
        if exp_id != "run":
            raise NotFound(f"no run {exp_id!r}")
        return self.snap


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = make_server(Source(), "127.0.0.1", 0, 2.5)  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def api(url: str) -> tuple[int, Any]:
    status, kind, body = get(url)
    assert kind == "application/json"
    return status, json.loads(body)


def test_page_static_files_and_health(base: str) -> None:
    status, kind, body = get(base)
    assert status == 200 and kind.startswith("text/html") and b"/static/app.js" in body
    status, kind, _ = get(base + "static/vendor/echarts.min.js")
    assert status == 200 and kind.startswith("text/javascript")
    assert get(base + "healthz")[:2] == (200, "text/plain; charset=utf-8")
    for bad in ("static/../views.py", "static/%2e%2e/views.py", "static/nope.js", "elsewhere"):
        assert get(base + bad)[0] == 404, bad


def test_api_answers_and_refusals(base: str) -> None:
    status, body = api(base + "api/experiments")
    assert status == 200 and body["pollSeconds"] == 2.5 and body["source"] == "fake"
    assert [e["id"] for e in body["experiments"]] == ["run"]
    status, body = api(base + "api/trials?id=run&sort=value&order=desc&size=2&page=2")
    assert status == 200 and [r["name"] for r in body["rows"]] == ["t-2", "t-1"]
    assert api(base + "api/overview?id=run")[1]["bestTrial"]["name"] == "t-4"
    assert api(base + "api/trial?id=run&name=t-3")[1]["trial"]["value"] == 0.3
    assert api(base + "api/trials?id=run&sort=nope")[0] == 400
    assert api(base + "api/overview")[0] == 400
    assert api(base + "api/overview?id=other")[0] == 404
    assert api(base + "api/trial?id=run&name=t-99")[0] == 404
    assert api(base + "api/overview?id=broken") == (502, {"error": "result.json: not valid "
                                                                 "JSON"})
    status, body = api(base + "api/overview?id=bug")
    assert status == 500 and body["error"] == "internal error: RuntimeError: boom"


def test_an_unchanged_snapshot_reuses_its_overview(base: str, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    from kubenas.dashboard import views

    assert api(base + "api/overview?id=run")[0] == 200  # built (or cached) once
    calls: list[str] = []
    monkeypatch.setattr(views, "overview", lambda s: calls.append(s.id) or {})
    assert api(base + "api/overview?id=run")[1]["bestTrial"]["name"] == "t-4"
    assert calls == []  # same version: the cached answer, not a rebuild


def test_large_answers_are_gzipped_when_accepted(base: str) -> None:
    plain = get(base + "static/vendor/echarts.min.js")[2]
    request = urllib.request.Request(base + "static/vendor/echarts.min.js",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.headers["Content-Encoding"] == "gzip"
        body = r.read()
    assert len(body) < len(plain) / 2 and gzip.decompress(body) == plain
    small = urllib.request.Request(base + "healthz", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(small, timeout=10) as r:
        assert r.headers["Content-Encoding"] is None and r.read() == b"ok\n"
