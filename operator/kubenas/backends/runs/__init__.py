"""The run folder that `kubenas run` (local and tabular) leaves behind.

`trials.jsonl` (the history a rerun continues from), `result.json` (the status), the progress
plot, `best-model/` and one folder per trial under `trials/`.
"""

from __future__ import annotations

from pathlib import Path

from kubenas.api.trials import trial_name
from kubenas.api.types import Experiment


def trial_dir(run_dir: Path, exp: Experiment, index: int) -> Path:
    return run_dir / "trials" / trial_name(exp.name, index)
