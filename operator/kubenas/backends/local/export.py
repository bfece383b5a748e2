"""Export the best trial's model after a local search: one more trainer run, from its checkpoint.

Trials do not export as they finish: an ONNX export and its checks cost seconds, and only
one model is wanted. The trainer is started once more for the best trial with its own
finished checkpoint, so it trains zero epochs, re-measures its cost metrics and writes
`best-model/`: model.onnx, model.int8.onnx when spec.export.quantize asks, and the model
card. The same code as every trial, so a custom trainer that honours KUBENAS_EXPORT_DIR
exports the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import trial_seed
from kubenas.backends.local import processes
from kubenas.backends.runs import trial_dir

BEST_MODEL = "best-model"
DEFAULT_TIMEOUT_S = 600.0
POLL_S = 0.1


@dataclass(frozen=True)
class Exported:
    """Where the model went, or why there is none (`problem`, with the log to read)."""

    path: Path | None
    problem: str | None = None


def export_best(exp: Experiment, trials: Sequence[Trial], run_dir: Path, index: int,
                stop_requested: Callable[[], bool]) -> Exported:
    """Export trial `index` to run_dir/best-model; a stop request kills the export at once."""
    trial = trials[index]
    folder = trial_dir(run_dir, exp, index)
    target, staging = run_dir / BEST_MODEL, run_dir / f"{BEST_MODEL}.tmp"
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    if not (folder / "checkpoint").is_dir():
        return Exported(None, f"trial {folder.name} left no checkpoint to export from")
    env = processes.environment(exp, trial, folder, seed=trial_seed(exp, trials, trial),
                                metrics_port=0, export_dir=str(staging),
                                termination_log=str(folder / "export-result.json"))
    log_path = folder / "export-log.txt"
    timeout_s = exp.budget.trial_timeout_s or DEFAULT_TIMEOUT_S
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(processes.command(exp), env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True, cwd=processes.exp_dir(exp))
        except OSError as exc:
            return Exported(None, f"cannot start the trainer: {exc.strerror or exc}")
    try:
        code = _wait(process, timeout_s, stop_requested)
    finally:
        processes.kill_group(process)
    if code is None:
        return Exported(None, f"the export took longer than {timeout_s:g}s; see {log_path}")
    if code != 0 or not (staging / "model.onnx").is_file():
        return Exported(None, f"{_reason(log_path, code)}; see {log_path}")
    staging.rename(target)
    return Exported(target)


def _wait(process: subprocess.Popen[bytes], timeout_s: float,
          stop_requested: Callable[[], bool]) -> int | None:
    """The exit code; None on timeout. Returns early (code -1) on a stop request."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            return code
        if stop_requested():
            return -1
        time.sleep(POLL_S)
    return None


def _reason(log_path: Path, code: int) -> str:
    """The trainer's own error line when it wrote one, else its exit code."""
    errors = [line for line in processes.tail(log_path).splitlines()
              if line.startswith("kubenas-trainer: error:")]
    if errors:
        return errors[-1].removeprefix("kubenas-trainer: error:").strip()
    return f"the trainer exited with code {code} and wrote no model.onnx"
