"""`kubenas run` against trainers and run folders that misbehave, and signals.

Every case ends in a message and an exit code, never a traceback: trainer problems fail that
trial with a reason while the search goes on, input problems are refused before anything
runs, and a stopped run stops all of its processes and keeps what it learnt.
"""

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

from .test_run import FAKE, kubenas, records, write_manifest

pytestmark = pytest.mark.slow


def _result(out: Path) -> dict[str, Any]:
    """result.json read as strict JSON: a bare NaN would fail here."""
    return json.loads((out / "result.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"result.json holds {c}"))


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


def _pids_of(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split() if int(p) != os.getpid()]


@pytest.mark.parametrize(("mode", "reason"), [("bad-json", "NoResult"),
                                              ("nan", "NonFiniteObjective"),
                                              ("string", "BadResult")])
def test_a_bad_result_fails_that_trial_and_the_search_goes_on(
        tmp_path: Path, mode: str, reason: str) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": mode, "FAKE_MODE_TRIALS": "0,3"},
                              budget={"maxTrials": 6, "maxParallelTrials": 2,
                                      "maxFailedTrials": 2})
    done = kubenas("run", str(manifest), "--out", str(out))
    _no_traceback(done)
    assert done.returncode == 0, done.stderr
    history = records(out)
    failed = [r for r in history if r["phase"] == "Failed"]
    assert [r["index"] for r in failed] == [0, 3]
    assert {r["reason"] for r in failed} == {reason}
    assert all("val_accuracy" in r["message"] for r in failed)
    result = _result(out)
    assert result["trials"]["succeeded"] == 4 and result["trials"]["failed"] == 2
    assert result["phase"] == "Succeeded"
    assert all(isinstance(v, float) for r in history for v in r["metrics"].values())


def test_a_non_finite_side_metric_is_dropped_with_a_note(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "nan-other"}, budget={"maxTrials": 1})
    done = kubenas("run", str(manifest), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (trial,) = records(out)
    assert trial["phase"] == "Succeeded" and "val_loss" not in trial["metrics"]
    assert "dropped metrics.val_loss" in trial["message"]
    assert _result(out)["bestTrial"]["name"] == "fake-0"


def test_a_trainer_that_cannot_start_fails_its_trials_with_a_reason(tmp_path: Path) -> None:
    """Preflight refuses a missing command; one that vanishes after it fails each trial."""
    script = tmp_path / "trainer.sh"
    manifest = write_manifest(tmp_path, command=["./trainer.sh"],
                              budget={"maxTrials": 3, "maxFailedTrials": 1})
    refused = kubenas("run", str(manifest), "--out", str(tmp_path / "out"))
    assert refused.returncode == 2
    assert f"{manifest}: spec.trialTemplate.command[0]: './trainer.sh' does not exist" in \
        refused.stderr
    script.write_text("#!/bin/sh\nexit 0\n")
    refused = kubenas("run", str(manifest), "--out", str(tmp_path / "out"))
    assert refused.returncode == 2 and "is not executable" in refused.stderr

    from kubenas.api.parse import load_file
    from kubenas.backends.local.runner import LocalRunner

    class Quiet:
        def update(self, trials: object, elapsed_s: float) -> None:
            return None

    runner = LocalRunner(load_file(manifest), tmp_path / "direct")  # no preflight here
    try:
        result = runner.run(Quiet())
    finally:
        runner.close()
    assert result.outcome.reason == "MaxFailedTrialsReached"
    assert [t.reason for t in result.trials] == ["TrainerNotStarted"] * 2
    assert "cannot start './trainer.sh'" in (result.trials[0].message or "")


def test_bad_flags_and_run_folders_are_refused_before_anything_runs(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    done = kubenas("run", str(manifest), "--out", str(a_file), "--parallel", "100000")
    _no_traceback(done)
    assert done.returncode == 2
    assert f"{manifest}: --parallel: must be from 1 to 1000, got 100000" in done.stderr
    assert f"{manifest}: --out: {a_file} is a file; name a folder" in done.stderr
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = kubenas("run", str(manifest), "--out", str(locked / "run"))
    finally:
        locked.chmod(0o700)
    if os.geteuid() != 0:  # root writes anywhere
        assert done.returncode == 2 and "--out: cannot write to" in done.stderr


def test_a_torn_last_history_line_is_dropped_and_the_run_resumes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, budget={"maxTrials": 2})
    assert kubenas("run", str(manifest), "--out", str(out)).returncode == 0
    lines = (out / "trials.jsonl").read_text().splitlines()
    (out / "trials.jsonl").write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    done = kubenas("run", str(manifest), "--out", str(out), "--plain")
    _no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert "dropped line 2" in done.stdout and "continuing 1 earlier trials" in done.stdout
    assert [r["phase"] for r in records(out)] == ["Succeeded", "Succeeded"]
    (out / "trials.jsonl").write_text("{torn\n" + lines[1] + "\n")
    done = kubenas("run", str(manifest), "--out", str(out))
    assert done.returncode == 2 and "line 1 is not a trial record" in done.stderr


def test_fresh_discards_checkpoints_logs_and_the_best_model(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, budget={"maxTrials": 2})
    assert kubenas("run", str(manifest), "--out", str(out)).returncode == 0
    stale = out / "best-model"
    stale.mkdir(exist_ok=True)
    (stale / "old.txt").write_text("from the first run")
    first_starts = (out / "trials" / "fake-0" / "checkpoint" / "starts").read_text()
    changed = write_manifest(tmp_path, budget={"maxTrials": 2},
                             training={"epochs": 3, "learningRate": 0.01})
    refused = kubenas("run", str(changed), "--out", str(out))
    assert refused.returncode == 2 and "spec.training changed" in refused.stderr
    done = kubenas("run", str(changed), "--out", str(out), "--fresh")
    assert done.returncode == 0, done.stderr
    assert not (stale / "old.txt").exists()
    starts = (out / "trials" / "fake-0" / "checkpoint" / "starts").read_text()
    assert starts != first_starts and len(starts.split()) == 1  # a new start, not a resume
    assert all(not json.loads(line)["resumed"] for line in
               [(out / "trials" / f"fake-{i}" / "result.json").read_text() for i in (0, 1)])


def test_a_changed_trial_template_is_refused_with_the_fresh_hint(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert kubenas("run", str(write_manifest(tmp_path, budget={"maxTrials": 1})), "--out",
                   str(out)).returncode == 0
    changed = write_manifest(tmp_path, env={"FAKE_MODE": "crash"}, budget={"maxTrials": 1})
    done = kubenas("run", str(changed), "--out", str(out))
    assert done.returncode == 2
    assert "spec.trialTemplate changed" in done.stderr and "--fresh" in done.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                           (signal.SIGINT, 130)])
def test_signals_stop_every_process_and_keep_partial_results(
        tmp_path: Path, sig: int, code: int) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "child", "FAKE_EPOCH_S": "0.5"},
                              budget={"maxTrials": 8, "maxParallelTrials": 2})
    proc = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                             str(out), "--plain"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (out / "trials.jsonl").exists() and
              sum(r["phase"] == "Running" for r in records(out)) == 2)
    time.sleep(0.5)  # the trainers have spawned their children
    assert len(_pids_of("time.sleep\\(3600\\)")) >= 1
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"stopped by {signal.Signals(sig).name}" in stdout
    assert _result(out)["reason"] == "Interrupted"
    assert not _pids_of(str(FAKE)) and not _pids_of("time.sleep\\(3600\\)")
    assert all(r["phase"] in ("Pending", "Succeeded") for r in records(out))


def test_children_of_a_finished_trainer_are_stopped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_MODE": "child"}, budget={"maxTrials": 2})
    assert kubenas("run", str(manifest), "--out", str(out)).returncode == 0
    assert not _pids_of("time.sleep\\(3600\\)")


def test_after_a_sigkill_the_rerun_never_trains_two_processes_in_one_folder(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_EPOCH_S": "2"},
                              budget={"maxTrials": 1}, training={"epochs": 30})
    proc = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                             str(out), "--plain"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    starts = out / "trials" / "fake-0" / "checkpoint" / "starts"
    _wait_for(starts.exists)
    proc.kill()
    proc.wait()
    (orphan,) = [int(p) for p in starts.read_text().split()]
    assert orphan in _pids_of(str(FAKE)), "the orphaned trainer should still be running"
    rerun = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                              str(out), "--plain"], stdout=subprocess.PIPE, text=True)
    _wait_for(lambda: len(starts.read_text().split()) == 2)
    assert orphan not in _pids_of(str(FAKE)), "two trainers share fake-0's folder"
    rerun.send_signal(signal.SIGTERM)
    stdout, _ = rerun.communicate(timeout=30)
    assert "stopped a trainer an earlier run left" in stdout


def test_two_runs_never_share_a_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = write_manifest(tmp_path, env={"FAKE_EPOCH_S": "1"}, budget={"maxTrials": 2})
    first = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(manifest), "--out",
                              str(out), "--plain"], stdout=subprocess.DEVNULL)
    _wait_for(lambda: (out / "trials.jsonl").exists())
    second = kubenas("run", str(manifest), "--out", str(out))
    first.send_signal(signal.SIGTERM)
    first.wait(30)
    assert second.returncode == 2
    assert f"is in use by another kubenas run (pid {first.pid})" in second.stderr


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting")
