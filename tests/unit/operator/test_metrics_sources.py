"""Prometheus queries (against a fake HTTP API), direct scrapes and curve bookkeeping."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from kubenas.backends.kubernetes.learning_curves import (
    DirectCurves,
    Point,
    PrometheusCurves,
    extend,
)
from kubenas.metrics.prometheus import Prometheus, QueryError, selector

SERIES = {
    "kubenas_trial_metric": [({"pod": "e-0-a0", "metric": "val_accuracy"}, "0.91")],
    "kubenas_trial_epoch": [({"pod": "e-0-a0"}, "2")],
}
TEXT = ('# TYPE kubenas_trial_metric gauge\nkubenas_trial_metric{metric="val_accuracy"} 0.8\n'
        "# TYPE kubenas_trial_epoch gauge\nkubenas_trial_epoch 3\n")


class _Handler(BaseHTTPRequestHandler):
    queries: list[str] = []

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        if url.path == "/metrics":
            body = TEXT.encode()
        else:
            query = urllib.parse.parse_qs(url.query)["query"][0]
            self.queries.append(query)
            if query == "bad{":
                self.send_response(400)
                self.end_headers()
                self.wfile.write(b'{"status":"error","error":"parse error"}')
                return
            name = query.split("{")[0]
            result = [{"metric": m, "value": [0, v]} for m, v in SERIES.get(name, [])]
            body = json.dumps({"status": "success",
                               "data": {"resultType": "vector", "result": result}}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_selector_escapes_values() -> None:
    assert selector("m", a='x"y', b="c\\d") == 'm{a="x\\"y",b="c\\\\d"}'


def test_prometheus_curves_use_two_queries_per_experiment(server: str) -> None:
    calls: list[bool] = []
    _Handler.queries = []
    source = PrometheusCurves(Prometheus(server), calls.append)
    pods = [{"metadata": {"name": "e-0-a0"}}]
    assert source.read("ns", "e", "val_accuracy", pods) == {"e-0-a0": Point(0.91, 2.0)}
    assert _Handler.queries == [
        'kubenas_trial_metric{namespace="ns",kubenas_io_experiment="e",metric="val_accuracy"}',
        'kubenas_trial_epoch{namespace="ns",kubenas_io_experiment="e"}']
    assert calls == [True, True]


def test_query_errors_are_reported(server: str) -> None:
    with pytest.raises(QueryError, match="400"):
        Prometheus(server).query("bad{")
    with pytest.raises(QueryError):
        Prometheus("http://127.0.0.1:1").query("up")


def test_direct_scrape_reads_pod_endpoints(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    pod = {"metadata": {"name": "e-0-a0", "annotations": {"prometheus.io/port": port}},
           "status": {"podIP": "127.0.0.1"}}
    assert DirectCurves().read("ns", "e", "val_accuracy", [pod]) == {"e-0-a0": Point(0.8, 3.0)}


def test_curve_grows_once_per_epoch() -> None:
    assert extend([0.5], 1.0, Point(0.6, 1.0)) is None
    assert extend([0.5], 1.0, Point(0.6, 2.0)) == [0.5, 0.6]
    assert len(extend([0.1] * 50, 50.0, Point(0.6, 51.0)) or []) == 50
