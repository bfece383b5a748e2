"""`python -m kubenas_trainer` as kubenas runs it: result, metrics endpoint, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request
from pathlib import Path

from kubenas.backends.contract import TrialResult, interpret
from kubenas_trainer.report import PREFIX
from prometheus_client.parser import text_string_to_metric_families

from .conftest import run_trainer, start_trainer, trainer_env


def test_termination_log_and_stdout(tmp_path: Path) -> None:
    done = run_trainer(trainer_env(tmp_path))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "termination-log").read_text()
    assert len(text.encode()) < 4096
    assert done.stdout.strip().splitlines()[-1] == PREFIX + text
    result = json.loads(text)
    metrics = result["metrics"]
    assert 0.5 < metrics["val_accuracy"] <= 1
    assert metrics["val_loss"] > 0 and metrics["train_loss"] > 0
    assert isinstance(metrics["params"], int) and metrics["params"] > 1000
    assert isinstance(metrics["flops"], int) and metrics["flops"] > 2 * metrics["params"]
    assert metrics["latency_ms"] > 0 and metrics["samples_per_second"] > 0
    assert result["budget"] == 2 and result["epochs_trained"] == 2
    assert result["resumed_from_epoch"] is None and result["checkpoint"] is None
    assert len(result["curve"]) == 2 and result["curve"][-1] == metrics["val_accuracy"]
    assert result["latency"]["runtime"] == "torch" and result["latency"]["timed_runs"] == 50
    read = interpret(result, "val_accuracy")  # kubenas takes the result as it is, no notes
    assert isinstance(read, TrialResult) and read.notes == ()
    assert read.metrics == {k: float(v) for k, v in metrics.items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> dict[str, dict[tuple, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        text = response.read().decode()
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def test_metrics_endpoint_while_training(tmp_path: Path) -> None:
    port = _free_port()
    env = trainer_env(tmp_path, KUBENAS_BUDGET="8", KUBENAS_METRICS_PORT=str(port),
                      KUBENAS_METRICS_HOST="127.0.0.1")
    seen = None
    with start_trainer(env) as process:
        while process.poll() is None:
            try:
                scraped = _scrape(port)
            except OSError:  # not listening yet, or already gone
                scraped = {}
            if scraped.get("kubenas_trial_epoch", {}).get((), 0) >= 1:
                seen = scraped
            time.sleep(0.05)
    assert process.returncode == 0
    assert seen is not None, "never scraped a finished epoch"
    assert 1 <= seen["kubenas_trial_epoch"][()] <= 8
    values = seen["kubenas_trial_metric"]
    assert 0 < values[(("metric", "val_accuracy"),)] <= 1
    assert values[(("metric", "val_loss"),)] > 0 and values[(("metric", "train_loss"),)] > 0
    assert seen["kubenas_trial_samples_per_second"][()] > 0
    samples = seen["kubenas_trial_samples"][()]
    assert samples > 0 and samples % 32 == 0  # whole batches of the configured size


def test_sigterm_stops_without_a_result(tmp_path: Path) -> None:
    with start_trainer(trainer_env(tmp_path, KUBENAS_BUDGET="1000")) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if "epoch 1/1000" in line:
                    break
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()  # a no-op once it has exited
    assert process.returncode == 143
    assert "stopped by SIGTERM" in stderr
    assert PREFIX not in stdout
    assert not (tmp_path / "termination-log").exists()
