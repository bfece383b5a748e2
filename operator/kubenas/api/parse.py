"""Parse, validate and default NASExperiment manifests.

Every error names the file, the field path, what is wrong and what would be valid, and all
errors are reported at once so a user fixes a manifest in one pass. Validation is the CRD's
schema and rules (`kubenas.api.schema`), so the verdict is the API server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from kubenas.api import load
from kubenas.api.openapi import Schema, obj, string
from kubenas.api.schema import API_VERSION, experiment_spec_schema, name_rules
from kubenas.api.strategy_settings import DEFAULT_MULTI_STRATEGY, DEFAULT_STRATEGY
from kubenas.api.types import (
    Budget,
    Cell,
    Constraint,
    Experiment,
    Export,
    Fidelity,
    Objective,
    ObjectiveSpec,
    Parameter,
    SearchSpaceSpec,
    StrategySpec,
    TabularFidelity,
    TabularSpec,
)
from kubenas.api.validate import FieldError, validate

KIND = "NASExperiment"
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ManifestError(ValueError):
    """A manifest failed validation; `errors` holds one entry per problem."""

    def __init__(self, source: str, errors: list[FieldError]) -> None:
        self.source = source
        self.errors = errors
        lines = [f"{source}: {e}" for e in errors]
        super().__init__("\n".join(lines))


def parse_duration(value: int | str) -> float:
    """Seconds from an integer or a Go-style duration string (`1h30m`, `90s`)."""
    if isinstance(value, int):
        return float(value)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"invalid duration {value!r}; use seconds or a form like 90s, 10m, 1h30m")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _envelope_schema() -> Schema:
    """The root as far as a manifest's author writes it: name and spec."""
    return obj("A NASExperiment.", {
        "metadata": {**obj("Object metadata.", {"name": string("Name of the experiment.")},
                           required=("name",)), "x-kubernetes-preserve-unknown-fields": True},
        "spec": experiment_spec_schema(),
    }, required=("metadata", "spec"), rules=name_rules())


def load_file(path: str | Path) -> Experiment:
    """Read one NASExperiment from a YAML file."""
    source = str(path)
    try:
        text = load.read_text(Path(path))
    except OSError as exc:
        raise ManifestError(source, [FieldError("", f"cannot read file: "
                                                    f"{exc.strerror or exc}")]) from exc
    except ValueError as exc:
        raise ManifestError(source, [FieldError("", str(exc))]) from exc
    docs, problems = load.documents(text)
    if problems:
        raise ManifestError(source, [FieldError(p.path, p.message) for p in problems])
    experiments = [d for d in docs if isinstance(d, dict) and d.get("kind") == KIND]
    if len(experiments) != 1:
        found = "none" if not experiments else f"{len(experiments)}"
        raise ManifestError(source, [FieldError(
            "kind", f"expected exactly one document of kind {KIND}, found {found}")])
    return parse(experiments[0], source=source)


def parse(manifest: Any, *, source: str = "<manifest>") -> Experiment:
    """Validate a manifest (as loaded from YAML or from the API) and build an Experiment."""
    if not isinstance(manifest, Mapping):
        raise ManifestError(source, [FieldError("", "a manifest must be a YAML mapping")])
    errors = _envelope_errors(manifest)
    body = {k: manifest[k] for k in ("metadata", "spec") if k in manifest}
    checked, found = validate(_envelope_schema(), body)
    errors += found
    if not errors:
        errors = _tabular_errors(checked["spec"])
    if errors:
        raise ManifestError(source, errors)
    meta = manifest["metadata"]
    return _build(checked["spec"], meta["name"], meta.get("namespace", "default"), source)


def _envelope_errors(manifest: Mapping[str, Any]) -> list[FieldError]:
    """apiVersion and kind: kubectl resolves these itself, before any schema applies."""
    errors = []
    if manifest.get("apiVersion") != API_VERSION:
        errors.append(FieldError("apiVersion", f"must be {API_VERSION}, got "
                                               f"{manifest.get('apiVersion')!r}"))
    if manifest.get("kind") != KIND:
        errors.append(FieldError("kind", f"must be {KIND}, got {manifest.get('kind')!r}"))
    return errors


def strategy_name(spec: dict[str, Any]) -> str:
    """spec.strategy.name, or the default for the objectives (the schema cannot default a
    field by another field's value)."""
    name = spec["strategy"].get("name")
    if name:
        return str(name)
    return DEFAULT_MULTI_STRATEGY if spec["objective"].get("additional") else DEFAULT_STRATEGY


def _tabular_errors(spec: dict[str, Any]) -> list[FieldError]:
    """Rules of spec.tabular, which only kubenas run and bench read (the CRD refuses it)."""
    tab = spec.get("tabular")
    if not tab:
        return []
    declared = set(_budget_levels(spec))
    errors = []
    for i, f in enumerate(tab["fidelities"]):
        if "level" not in f and len(declared) > 1:
            errors.append(FieldError(f"spec.tabular.fidelities[{i}].level",
                                     f"required: the experiment has several budget levels; "
                                     f"valid: {sorted(declared)}"))
        elif "level" in f and float(f["level"]) not in declared:
            errors.append(FieldError(f"spec.tabular.fidelities[{i}].level",
                                     f"{f['level']} is not a budget level of this experiment; "
                                     f"valid: {sorted(declared)}"))
    return errors + _judge_errors(spec["objective"], tab)


def _budget_levels(spec: dict[str, Any]) -> tuple[float, ...]:
    fid = spec.get("fidelity")
    return fidelity_levels(fid) if fid else (float(spec["training"]["epochs"]),)


def _judge_errors(objective: dict[str, Any], tab: dict[str, Any]) -> list[FieldError]:
    metrics = [objective["metric"], *(o["metric"] for o in objective.get("additional", []))]
    reports = tab.get("reportMetrics", {})
    errors = []
    for field in ("judge", "reference"):
        errors += [FieldError(f"spec.tabular.{field}.{m}", f"{m!r} is not an objective metric; "
                                                            f"valid: {', '.join(metrics)}")
                   for m in tab.get(field, {}) if m not in metrics]
    errors += [FieldError(f"spec.tabular.judge.{m}", f"{r!r} is not in reportMetrics; valid: "
                                                      f"{', '.join(reports) or 'none'}")
               for m, r in tab.get("judge", {}).items() if r not in reports]
    return errors


def fidelity_levels(fid: dict[str, Any]) -> tuple[float, ...]:
    """Rung budgets: explicit levels, or min * eta^k below max, then max."""
    if "levels" in fid:
        return tuple(float(x) for x in fid["levels"])
    low, high, eta = float(fid["min"]), float(fid["max"]), int(fid["reductionFactor"])
    levels = []
    level = low
    while level < high * (1 - 1e-9):
        levels.append(level)
        level *= eta
    return (*levels, high)


def _build(spec: dict[str, Any], name: str, namespace: str, source: str) -> Experiment:
    obj = spec["objective"]
    objective = ObjectiveSpec(
        primary=Objective(obj["metric"], obj["direction"]),
        goal=obj.get("goal"),
        additional=tuple(Objective(o["metric"], o["direction"]) for o in obj.get("additional", [])),
        constraints=tuple(Constraint(c["metric"], c.get("min"), c.get("max"))
                          for c in obj.get("constraints", [])),
    )
    space = spec["searchSpace"]
    cell = space.get("cell")
    budget = spec["budget"]
    fid = spec.get("fidelity")
    tab = spec.get("tabular")
    return Experiment(
        name=name,
        namespace=namespace,
        objective=objective,
        space=SearchSpaceSpec(
            family=space["family"],
            parameters=tuple(_parameter(p) for p in space["parameters"]),
            cell=Cell(cell["parameter"], cell["nodes"], cell["zeroOp"], cell.get("identityOp"))
            if cell else None,
        ),
        strategy=StrategySpec(strategy_name(spec), spec["strategy"]["seed"],
                              dict(spec["strategy"].get("settings", {}))),
        budget=Budget(
            max_trials=budget["maxTrials"],
            max_parallel=budget["maxParallelTrials"],
            max_failed=budget["maxFailedTrials"],
            max_duration_s=parse_duration(budget["maxDuration"]) if "maxDuration" in budget
            else None,
            trial_timeout_s=parse_duration(budget["trialTimeout"]) if "trialTimeout" in budget
            else None,
            gpu_aware=budget["gpuAware"],
        ),
        fidelity=Fidelity(fid["resource"], fidelity_levels(fid), fid["reductionFactor"])
        if fid else None,
        training=spec["training"],
        trial_template=spec["trialTemplate"],
        tabular=_tabular(tab, _budget_levels(spec)) if tab else None,
        suspend=spec["suspend"],
        spec=spec,
        export=Export(spec["export"]["quantize"], spec["export"].get("dir")),
        source=source,
    )


def _parameter(p: dict[str, Any]) -> Parameter:
    if "choice" in p:
        return Parameter(p["name"], "choice", choices=tuple(p["choice"]), repeat=p.get("repeat"))
    kind: Literal["int", "float"] = "int" if "int" in p else "float"
    rng = p[kind]
    return Parameter(p["name"], kind, low=rng["min"], high=rng["max"], step=rng.get("step", 1),
                     log=rng.get("log", False), repeat=p.get("repeat"))


def _tabular(tab: dict[str, Any], levels: tuple[float, ...]) -> TabularSpec:
    return TabularSpec(
        table=tab["table"],
        key_column=tab["key"]["column"],
        key_format=tab["key"]["format"],
        fidelities=tuple(TabularFidelity(float(f.get("level", levels[-1])), dict(f["metrics"]),
                                         f.get("costColumn"), f["costScale"], f.get("cost"))
                         for f in tab["fidelities"]),
        static_metrics=dict(tab.get("staticMetrics", {})),
        report_metrics=dict(tab.get("reportMetrics", {})),
        resume=tab["resume"],
        judge=dict(tab.get("judge", {})),
        reference={k: float(v) for k, v in tab.get("reference", {}).items()},
    )
