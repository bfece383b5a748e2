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


def test_best_model_names_the_best_trials_export_folder() -> None:
    from kubenas.api.parse import parse
    from kubenas.api.trials import Trial
    from kubenas.backends.kubernetes.status import build

    from .conftest import manifest

    trials = [Trial(0, {"depth": 1, "width": 16, "op": ["conv3x3"]}, 2.0, phase="Succeeded",
                    metrics={"val_accuracy": 0.8}),
              Trial(1, {"depth": 2, "width": 16, "op": ["conv3x3"] * 2}, 2.0,
                    phase="Succeeded",
                    metrics={"val_accuracy": 0.9})]
    exporting = parse(manifest(export={"dir": "/models"}))
    body = manifest(export={"dir": "/models"})
    assert build(exporting, body, trials, None, None, 0.0)["bestModel"] == "/models/e-1"
    assert "bestModel" not in build(parse(manifest()), manifest(), trials, None, None, 0.0)
