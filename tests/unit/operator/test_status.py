"""Status building blocks: merge patches and the operator's own /metrics and /healthz."""

from __future__ import annotations

import asyncio
import socket
import urllib.request

from kubenas.backends.kubernetes.observability import OperatorMetrics, serve
from kubenas.backends.kubernetes.status import merge_patch


def test_merge_patch_is_minimal_and_removes_keys() -> None:
    old = {"phase": "Running", "best": {"name": "a", "metrics": {"x": 1, "y": 2}}, "gone": 1}
    new = {"phase": "Running", "best": {"name": "b", "metrics": {"x": 1}}}
    assert merge_patch(old, new) == {"best": {"name": "b", "metrics": {"y": None}},
                                     "gone": None}
    assert merge_patch(new, new) == {}


def test_metrics_and_healthz_endpoints() -> None:
    metrics = OperatorMetrics()
    metrics.observe(("ns", "e"), "Running", {"running": 2, "succeeded": 3})
    metrics.trial_failures.labels("OOMKilled").inc()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scrape() -> tuple[str, str]:
        runner = await serve(metrics, port, stale_after_s=60)
        try:
            def get(path: str) -> str:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as r:
                    return str(r.read().decode())
            return (await asyncio.to_thread(get, "/metrics"),
                    await asyncio.to_thread(get, "/healthz"))
        finally:
            await runner.cleanup()

    text, health = asyncio.run(scrape())
    assert 'kubenas_experiments{phase="Running"} 1.0' in text
    assert 'kubenas_trials{phase="Succeeded"} 3.0' in text
    assert 'kubenas_trial_failures_total{reason="OOMKilled"} 1.0' in text
    assert "kubenas_reconcile_duration_seconds_bucket" in text
    assert health == "ok\n"
