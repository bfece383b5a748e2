"""What a local run needs beyond a valid manifest, checked before any trial starts.

`kubenas validate` judges a manifest as the API server would; these are facts of this
machine: that the trainer command exists, that the dataset path is there, that the built-in
trainer is installed and accepts every value the search can propose, and that the run
folder can be written. Each problem names the field (or flag) and what would work.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from kubenas.api import builtin_trainer
from kubenas.api.parse import ManifestError, parse
from kubenas.api.schema import API_VERSION
from kubenas.api.types import Experiment
from kubenas.api.validate import FieldError
from kubenas.backends.local.processes import command, exp_dir

MAX_PARALLEL = 1000  # the schema's bound on budget.maxParallelTrials


def problems(exp: Experiment, out: Path, parallel: int | None) -> list[FieldError]:
    found = _flags(out, parallel)
    found += _trainer(exp)
    for i, env in enumerate(exp.trial_template.get("env", [])):
        if "valueFrom" in env:
            found.append(FieldError(f"spec.trialTemplate.env[{i}]", f"{env['name']} uses "
                                    "valueFrom, which only a cluster can resolve; give a value "
                                    "to run locally"))
    return found


def _flags(out: Path, parallel: int | None) -> list[FieldError]:
    found = []
    if parallel is not None and not 1 <= parallel <= MAX_PARALLEL:
        found.append(FieldError("--parallel", f"must be from 1 to {MAX_PARALLEL}, got "
                                              f"{parallel}"))
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if out.exists() and not out.is_dir():
        found.append(FieldError("--out", f"{out} is a file; name a folder"))
    elif existing is not None and not (existing.is_dir() and os.access(existing, os.W_OK)):
        found.append(FieldError("--out", f"cannot write to {existing}; choose a writable "
                                         "folder"))
    return found


def _trainer(exp: Experiment) -> list[FieldError]:
    if exp.trial_template.get("command"):
        return _command(exp)
    found = []
    if importlib.util.find_spec("torch") is None or \
            importlib.util.find_spec("kubenas_trainer") is None:
        found.append(FieldError("spec.trialTemplate.command", "unset, so trials run the "
                                "built-in trainer, which needs torch: pip install "
                                "'kubenas[trainer]' (or set a command)"))
    if exp.trial_template.get("image"):  # the schema let the image stand for the trainer
        found += _as_builtin(exp)
    found += [FieldError(path, message) for path, message in builtin_trainer.value_problems(exp)]
    return found + _dataset(exp)


def _command(exp: Experiment) -> list[FieldError]:
    program = command(exp)[0]
    where = "spec.trialTemplate.command[0]"
    if "/" in program:
        path = exp_dir(exp) / program
        if not path.is_file():
            return [FieldError(where, f"{program!r} does not exist (relative paths start at "
                                      f"the manifest's folder, {exp_dir(exp)})")]
        if not os.access(path, os.X_OK):
            return [FieldError(where, f"{program!r} is not executable (chmod +x it, or run it "
                                      "through its interpreter)")]
        return []
    if program != sys.executable and shutil.which(program) is None:
        return [FieldError(where, f"{program!r} is not on PATH")]
    return []


def _as_builtin(exp: Experiment) -> list[FieldError]:
    """Locally, a template with an image but no command runs the built-in trainer: check the
    manifest as if the image were unset."""
    spec = {**exp.spec, "trialTemplate": {k: v for k, v in exp.trial_template.items()
                                          if k != "image"}}
    try:
        parse({"apiVersion": API_VERSION, "kind": "NASExperiment",
               "metadata": {"name": exp.name}, "spec": spec}, source=exp.source)
    except ManifestError as exc:
        return [FieldError(e.path, f"{e.message} (trialTemplate.image does not run locally: "
                                   "trials use the built-in trainer unless a command is set)")
                for e in exc.errors]
    return []


def _dataset(exp: Experiment) -> list[FieldError]:
    kind, path = exp.training.get("dataset"), exp.training.get("path")
    if kind not in ("npz", "folder") or not path:
        return []
    full = exp_dir(exp) / path
    ok = full.is_file() if kind == "npz" else full.is_dir()
    if ok:
        return []
    what = "an .npz file" if kind == "npz" else "a folder with one subfolder per class"
    return [FieldError("spec.training.path", f"{path!r} is not {what} (looked at {full})")]
