"""The run folder's `experiment.json`: the defaulted manifest the run was started with.

`result.json` and `trials.jsonl` hold numbers but not what they mean (which metric, which
direction, which constraints, which parameters). Readers of a run folder, the dashboard
first, parse this file with the same code as `kubenas run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubenas.api.schema import API_VERSION
from kubenas.api.types import Experiment
from kubenas.backends.runs.results import write_json

MANIFEST = "experiment.json"


def to_manifest(exp: Experiment) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "NASExperiment",
            "metadata": {"name": exp.name, "namespace": exp.namespace}, "spec": exp.spec}


def save(run_dir: Path, exp: Experiment) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / MANIFEST, to_manifest(exp))
