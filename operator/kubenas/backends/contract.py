"""The trial contract, the one place both backends build and read it (docs/trial-contract.md).

In: environment variables; the local runner adds them to a subprocess environment, the
operator renders them into the trial pod's container env. Out: the final result, one JSON
object; whatever a trainer writes, only finite numbers come out of `interpret`, so nothing
non-finite or non-numeric ever reaches a status, a history file or the API server.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubenas.api.trials import Trial, TrialKind, trial_name
from kubenas.api.types import Experiment, SearchSpaceSpec
from kubenas.engine import prescreen
from kubenas.space.oplist import split
from kubenas.space.space import SearchSpace

DEFAULT_COMMAND = ("python", "-m", "kubenas_trainer")
RESULT_PREFIX = "KUBENAS_RESULT "
CURVE_LIMIT = 50


@dataclass(frozen=True)
class TrialResult:
    """A usable result: finite metrics and curve, and notes on what was dropped."""

    metrics: dict[str, float]
    curve: tuple[float, ...]
    notes: tuple[str, ...] = ()
    derived: dict[str, Any] | None = None  # a supernet's or a zerocost trial's findings


@dataclass(frozen=True)
class BadResult:
    """Why a trial that exited cleanly still failed."""

    reason: str
    message: str


def find_result(text: str | None) -> Any:
    """The result in a termination message or log: the whole text as JSON, else the last
    `KUBENAS_RESULT ` line that parses; None when there is none."""
    if not text:
        return None
    candidates = [text.strip()]
    candidates += [line[len(RESULT_PREFIX):] for line in reversed(text.splitlines())
                   if line.startswith(RESULT_PREFIX)]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def interpret(result: Any, objective: str, kind: TrialKind = "train",
              space: SearchSpaceSpec | None = None) -> TrialResult | BadResult:
    """Check a trainer's result: the objective must be a finite number; any other metric
    that is not is dropped with a note. A supernet or zerocost trial must also report
    candidates of `space`, which become the result's `derived`."""
    if kind != "train":
        return _interpret_search(result, objective, kind, space)
    if result is None:
        return BadResult("NoResult", f"the trainer exited 0 but wrote no result (a JSON object "
                                     f"with metrics.{objective}) to its termination log or "
                                     f"stdout (a {RESULT_PREFIX.strip()} line)")
    raw = result.get("metrics", {}) if isinstance(result, dict) else None
    if not isinstance(raw, dict):
        return BadResult("BadResult", f"the result is not a JSON object with a metrics object: "
                                      f"{_clip(result)}")
    if objective not in raw:
        found = ", ".join(sorted(map(str, raw))) or "none"
        return BadResult("NoResult", f"the result has no metrics.{objective} (it has: {found})")
    value = raw[objective]
    if not _is_number(value):
        return BadResult("BadResult", f"metrics.{objective} is {_describe(value)}, not a "
                                      "number")
    if not math.isfinite(value):
        return BadResult("NonFiniteObjective", f"metrics.{objective} is {value}: training "
                                               "diverged, or the trainer could not compute it")
    metrics, notes = {}, []
    for name, item in raw.items():
        if _is_number(item) and math.isfinite(item):
            metrics[str(name)] = float(item)
        else:
            notes.append(f"dropped metrics.{name}: {_describe(item)} is not a finite number")
    curve = result.get("curve")
    points = tuple(float(v) for v in curve if _is_number(v) and math.isfinite(v)) \
        if isinstance(curve, list) else ()
    return TrialResult(metrics, points[-CURVE_LIMIT:], tuple(notes))


_DERIVED = {"supernet": "supernet", "zerocost": "zeroCost"}
DERIVED_LIMIT = 16384  # bytes of JSON; a trial status must stay small


def _interpret_search(result: Any, objective: str, kind: TrialKind,
                      space: SearchSpaceSpec | None) -> TrialResult | BadResult:
    """A supernet or zerocost result, rebuilt field by field from what the contract names,
    so nothing of another type or non-finite reaches a status."""
    key = _DERIVED[kind]
    found = result.get(key) if isinstance(result, dict) else None
    if not isinstance(found, dict):
        return BadResult("NoResult", f"a {kind} trial's result needs a {key} object (see "
                                     "docs/trial-contract.md); got: "
                                     f"{_clip(result) if result is not None else 'no result'}")
    if space is None:
        raise ValueError("a supernet or zerocost result is read against its search space")
    entries = found.get("candidates" if kind == "supernet" else "top")
    if not isinstance(entries, list) or not entries:
        return BadResult("BadResult", f"{key} lists no candidates")
    ops, members = split(space), SearchSpace(space)
    picked = []
    for number, entry in enumerate(entries):
        params = entry.get("params") if isinstance(entry, dict) else None
        if not isinstance(params, dict):
            return BadResult("BadResult", f"{key} candidate {number} has no params object")
        problems = members.validate(ops.complete(params))
        if problems:
            return BadResult("BadResult", f"{key} candidate {number} is not in the search "
                                          f"space: {'; '.join(problems)}")
        searched = {ops.param.name: params[ops.param.name]}
        if kind == "supernet":
            picked.append({"params": searched, **_finite_field(entry, "score")})
        else:
            scores = entry.get("scores") if isinstance(entry.get("scores"), dict) else {}
            picked.append({"params": searched, "scores": {
                str(k): _finite_or_none(v) for k, v in scores.items()}})
    if kind == "zerocost":
        derived: dict[str, Any] = {"top": picked, **_finite_field(found, "scored")}
        trained = TrialResult({}, ())
    else:
        read = interpret(result, objective)
        if isinstance(read, BadResult):
            return read
        trained = read
        best = found.get("architecture")
        derived = {"candidates": picked, "architecture": (
            {ops.param.name: best[ops.param.name]} if isinstance(best, dict)
            and not members.validate(ops.complete(best)) else picked[0]["params"])}
        weights = found.get("weights")
        if _is_weights(weights, ops.param.name):
            derived["weights"] = weights
        if found.get("weightKind") in ("probability", "frequency"):
            derived["weightKind"] = found["weightKind"]
    if len(json.dumps(derived)) > DERIVED_LIMIT:
        return BadResult("BadResult", f"{key} is over {DERIVED_LIMIT} bytes of JSON")
    return TrialResult(trained.metrics, trained.curve, trained.notes, derived)


def _finite_or_none(value: Any) -> float | None:
    return float(value) if _is_number(value) and math.isfinite(value) else None


def _finite_field(entry: dict[str, Any], name: str) -> dict[str, float]:
    value = _finite_or_none(entry.get(name))
    return {} if value is None else {name: value}


def _is_weights(value: Any, name: str) -> bool:
    rows = value.get(name) if isinstance(value, dict) and list(value) == [name] else None
    return isinstance(rows, list) and all(
        isinstance(row, list) and all(_is_number(w) and math.isfinite(w) for w in row)
        for row in rows)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {_clip(value)}"
    if value is None:
        return "null"
    return _clip(value)


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, dict | list) else json.dumps(value)[:limit]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def trial_seed(exp: Experiment, trials: Sequence[Trial], trial: Trial) -> int:
    """A promoted trial keeps its root ancestor's seed, so resuming continues the same run."""
    root = trial
    while root.parent is not None:
        root = trials[root.parent]
    return (exp.strategy.seed * 1_000_003 + root.index) % (2**31)


def trial_env(exp: Experiment, trial: Trial, *, seed: int, metrics_port: int,
              checkpoint_dir: str | None = None, resume_from: str | None = None,
              termination_log: str | None = None, export_dir: str | None = None,
              data_cache: str | None = None) -> dict[str, str]:
    """The contract's variables. Every trial of an experiment gets the same split seed, so all
    are scored on one validation split."""
    env = {
        "KUBENAS_TRIAL": trial_name(exp.name, trial.index),
        "KUBENAS_ARCHITECTURE": json.dumps({"family": exp.space.family,
                                            "params": dict(trial.arch)}, sort_keys=True),
        "KUBENAS_BUDGET": _number(trial.budget),
        "KUBENAS_RESOURCE": exp.fidelity.resource if exp.fidelity else "epochs",
        "KUBENAS_SEED": str(seed),
        "KUBENAS_SPLIT_SEED": str(exp.strategy.seed),
        "KUBENAS_OBJECTIVE": exp.objective.primary.metric,
        "KUBENAS_TRAINING": json.dumps({k: v for k, v in exp.training.items() if k != "epochs"},
                                       sort_keys=True),
        "KUBENAS_METRICS_PORT": str(metrics_port),
    }
    optional = {"KUBENAS_CHECKPOINT_DIR": checkpoint_dir, "KUBENAS_RESUME_FROM": resume_from,
                "KUBENAS_TERMINATION_LOG": termination_log, "KUBENAS_EXPORT_DIR": export_dir,
                "KUBENAS_DATA_CACHE": data_cache}
    env.update({k: v for k, v in optional.items() if v})
    if export_dir and trial.kind == "train":
        env["KUBENAS_EXPORT"] = json.dumps(export_settings(exp, trial, seed), sort_keys=True)
    else:
        env.pop("KUBENAS_EXPORT_DIR", None)
    request = trial.request if trial.kind != "train" else prescreen.trial_request(exp)
    if request is not None:
        variable = "KUBENAS_SUPERNET" if trial.kind == "supernet" else "KUBENAS_ZEROCOST"
        env[variable] = json.dumps(request, sort_keys=True)
    return env


def export_dir(exp: Experiment, trial: str) -> str:
    """Where a cluster trial exports its model: spec.export.dir/<trial>."""
    return f"{(exp.export.dir or '').rstrip('/')}/{trial}"


def export_settings(exp: Experiment, trial: Trial, seed: int) -> dict[str, Any]:
    """KUBENAS_EXPORT: the quantisation asked for, and how the model was found (for its card)."""
    return {"quantize": exp.export.quantize, "foundBy": {
        "tool": "kubenas", "experiment": exp.name, "namespace": exp.namespace,
        "strategy": exp.strategy.name, "searchSpace": exp.space.family,
        "trial": trial_name(exp.name, trial.index), "budget": trial.budget,
        "resource": exp.fidelity.resource if exp.fidelity else "epochs", "seed": seed,
    }}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
