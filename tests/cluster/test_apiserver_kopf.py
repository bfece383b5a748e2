"""A Kopf operator (kopf_widgets.py) runs against the emulator in a `kopf run` subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from kubesim.apiserver import ApiServer

OPERATOR = Path(__file__).parent / "kopf_widgets.py"
MERGE = {"Content-Type": "application/merge-patch+json"}


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {check.__doc__ or check}")


class Operator:
    def __init__(self, kubeconfig: Path, ns: str, log: Path) -> None:
        self.args = [sys.executable, "-m", "kopf", "run", "--standalone", "--verbose",
                     "-n", ns, str(OPERATOR)]
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@pytest.fixture
def operator(kubeconfig: Path, ns: str, widget_crd: dict, tmp_path: Path) -> Iterator[Operator]:
    op = Operator(kubeconfig, ns, tmp_path / "kopf.log")
    op.start()
    yield op
    op.stop()
    log = op.log.read_text()
    assert "Traceback" not in log, log


def test_operator_lifecycle(operator: Operator, apiserver: ApiServer, ns: str) -> None:
    base = f"{apiserver.url}/apis/test.kubesim.io/v1/namespaces/{ns}/widgets"
    body = {"apiVersion": "test.kubesim.io/v1", "kind": "Widget", "metadata": {"name": "w1"},
            "spec": {"size": 3}}
    assert requests.post(base, json=body, timeout=5).status_code == 201

    def widget() -> dict[str, Any]:
        return dict(requests.get(f"{base}/w1", timeout=5).json())

    def phase_is(expected: str) -> Callable[[], bool]:
        def check() -> bool:
            """the widget's status.phase"""
            return widget().get("status", {}).get("phase") == expected
        return check

    eventually(phase_is("Created"))
    assert "kopf.zalando.org/KopfFinalizerMarker" in widget()["metadata"]["finalizers"]
    eventually(lambda: widget()["status"].get("conditions"))  # the timer ran

    requests.patch(f"{base}/w1", json={"spec": {"size": 5}}, headers=MERGE, timeout=5)
    eventually(phase_is("Resized to 5"))

    # The watch drops and its reconnect fails once (Kopf backs off); meanwhile a change
    # happens and history is compacted: the resumed watch gets 410 Gone, and Kopf must
    # relist to see the change.
    apiserver.faults.fail_next(1, 503, method="GET", path_regex=r"/widgets$")
    apiserver.faults.close_watches()
    requests.patch(f"{base}/w1", json={"spec": {"size": 6}}, headers=MERGE, timeout=5)
    apiserver.faults.compact()
    eventually(phase_is("Resized to 6"))
    assert "Restarting the watch-stream" in operator.log.read_text()

    operator.stop()
    operator.start()
    eventually(lambda: widget()["metadata"].get("annotations", {}).get(
        "test.kubesim.io/resumed") == "true")

    requests.delete(f"{base}/w1", timeout=5)
    eventually(lambda: requests.get(f"{base}/w1", timeout=5).status_code == 404)
    evidence = requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps/deleted-w1",
                            timeout=5)
    assert evidence.json()["data"] == {"by": "kopf"}
    events = requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/events", timeout=5).json()
    assert ("w1", "Created") in {(e["involvedObject"]["name"], e["reason"])
                                 for e in events["items"]}
