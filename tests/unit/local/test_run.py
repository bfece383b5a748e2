"""`kubenas run` end to end: real subprocesses, real /metrics, real files left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

FAKE = Path(__file__).with_name("fake_trainer.py")
pytestmark = pytest.mark.slow


def write_manifest(tmp_path: Path, *, env: dict[str, str] | None = None,
                   command: list[str] | None = None, **spec: Any) -> Path:
    body: dict[str, Any] = {
        "objective": {"metric": "val_accuracy"},
        "searchSpace": {"family": "fake", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 3}},
            {"name": "op", "choice": ["a", "b", "c"], "repeat": "depth"}]},
        "strategy": {"name": "random", "seed": 4},
        "budget": {"maxTrials": 6, "maxParallelTrials": 2},
        "training": {"epochs": 3},
        "trialTemplate": {"command": command or ["python", str(FAKE)],
                          "env": [{"name": k, "value": v} for k, v in (env or {}).items()]},
    }
    body.update(spec)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "kubenas.io/v1alpha1",
                                    "kind": "NASExperiment", "metadata": {"name": "fake"},
                                    "spec": body}))
    return path


def kubenas(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubenas", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]


def test_run_writes_result_history_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = kubenas("run", str(write_manifest(tmp_path)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["phase"] == "Succeeded" and result["reason"] == "MaxTrialsReached"
    assert result["trials"] == {"total": 6, "pending": 0, "running": 0, "succeeded": 6,
                                "failed": 0, "stopped": 0}
    history = records(out)
    assert [r["name"] for r in history] == [f"fake-{i}" for i in range(6)]
    best = max(history, key=lambda r: r["metrics"]["val_accuracy"])
    assert result["bestTrial"]["name"] == best["name"]
    assert result["bestTrial"]["architecture"] == best["architecture"]
    assert len(result["leaderboard"]) == len({json.dumps(r["architecture"]) for r in history})
    assert (out / "progress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "best trial fake-" in done.stdout


def test_learning_curves_are_scraped_from_metrics(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "no-curve", "FAKE_EPOCH_S": "1.2"},
                              budget={"maxTrials": 1})
    assert kubenas("run", str(manifest), "--out", str(out)).returncode == 0
    (trial,) = records(out)
    assert len(trial["curve"]) >= 2  # only /metrics could have told the runner these
    assert trial["curve"] == sorted(trial["curve"])


def test_a_crashing_trial_is_failed_with_its_reason(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "crash"},
                              budget={"maxTrials": 4, "maxFailedTrials": 1})
    done = kubenas("run", str(manifest), "--out", str(out))
    assert done.returncode == 1
    result = json.loads((out / "result.json").read_text())
    assert result["phase"] == "Failed" and result["reason"] == "MaxFailedTrialsReached"
    failed = [r for r in records(out) if r["phase"] == "Failed"]
    assert len(failed) == 2
    assert failed[0]["reason"] == "Error"
    assert "exit code 3" in failed[0]["message"] and "simulated CUDA error" in failed[0]["message"]


def test_a_trial_past_its_timeout_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "hang"},
                              budget={"maxTrials": 1, "maxFailedTrials": 0, "trialTimeout": 2})
    started = time.monotonic()
    done = kubenas("run", str(manifest), "--out", str(out))
    assert done.returncode == 1
    assert time.monotonic() - started < 30
    (trial,) = records(out)
    assert trial["phase"] == "Failed" and trial["reason"] == "DeadlineExceeded"


def test_ctrl_c_keeps_partial_results_and_a_rerun_continues(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_EPOCH_S": "0.4"},
                              budget={"maxTrials": 6, "maxParallelTrials": 1})
    proc = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                             str(out), "--plain"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "trials.jsonl").exists() and any(
                r["phase"] == "Succeeded" for r in records(out)):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130
    partial = records(out)
    assert any(r["phase"] == "Succeeded" for r in partial)
    assert json.loads((out / "result.json").read_text())["reason"] == "Interrupted"
    assert not _live_children(), "trial processes survived Ctrl-C"
    done = kubenas("run", str(manifest), "--out", str(out))
    assert done.returncode == 0, done.stderr
    final = records(out)
    assert len(final) == 6 and all(r["phase"] == "Succeeded" for r in final)
    for before in partial:
        if before["phase"] == "Succeeded":
            assert final[before["index"]]["metrics"] == before["metrics"]


def _live_children() -> list[str]:
    out = subprocess.run(["pgrep", "-f", str(FAKE)], capture_output=True, text=True,
                         check=False)
    return [p for p in out.stdout.split() if int(p) != os.getpid()]


def test_a_changed_search_is_refused_on_an_old_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert kubenas("run", str(write_manifest(tmp_path, budget={"maxTrials": 1})), "--out",
                   str(out)).returncode == 0
    changed = write_manifest(tmp_path, strategy={"name": "random", "seed": 5})
    done = kubenas("run", str(changed), "--out", str(out))
    assert done.returncode == 2 and "--fresh" in done.stderr


def test_real_training_exports_the_best_model(tmp_path: Path) -> None:
    """The built-in trainer on digits, with a relative --out as `make demo` uses it."""
    import numpy as np
    import onnxruntime as ort

    manifest = tmp_path / "real.yaml"
    manifest.write_text(yaml.safe_dump({
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": "real"},
        "spec": {"objective": {"metric": "val_accuracy"},
                 "searchSpace": {"family": "macro_cnn", "parameters": [
                     {"name": "depth", "int": {"min": 1, "max": 2}},
                     {"name": "width", "choice": [16]},
                     {"name": "op", "choice": ["conv3x3", "sep_conv3x3"], "repeat": "depth"}]},
                 "strategy": {"name": "random", "seed": 1},
                 "budget": {"maxTrials": 2, "maxParallelTrials": 2},
                 "training": {"dataset": "digits", "epochs": 3, "batchSize": 32},
                 # An image is for the cluster: locally the built-in trainer still runs.
                 "trialTemplate": {"image": "ghcr.io/kubenas/trainer:0.1.0"}}}))
    done = subprocess.run([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                           "out"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "out"
    result = json.loads((out / "result.json").read_text())
    assert result["bestTrial"]["metrics"]["val_accuracy"] > 0.9
    assert {"params", "flops", "latency_ms"} <= set(result["bestTrial"]["metrics"])
    model = ort.InferenceSession(str(out / "best-model" / "model.onnx"))
    assert model.run(None, {"images": np.zeros((1, 1, 8, 8), np.float32)})[0].shape == (1, 10)
    card = json.loads((out / "best-model" / "model-card.json").read_text())
    assert card["architecture"]["params"] == result["bestTrial"]["architecture"]
    # Exported once, after the search, from the best trial's checkpoint (zero more epochs).
    assert result["bestModel"] == str((out / "best-model").resolve())
    assert card["found_by"]["trial"] == result["bestTrial"]["name"]
    assert card["found_by"]["experiment"] == "real"
    assert not list(out.glob("trials/*/model"))
