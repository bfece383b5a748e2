"""The CRDs are generated from the one schema, documented everywhere, and CEL-sound."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import celpy
import pytest
import yaml
from kubenas.api import crd
from kubenas.api.parse import parse
from kubenas.api.schema import API_VERSION, experiment_spec_schema
from kubenas.api.status_schema import CURVE_LIMIT, LEADERBOARD_SIZE, PARETO_LIMIT
from kubenas.api.trials import Trial
from kubenas.api.validate import validate
from kubenas.engine import status as engine_status

from .conftest import CHART, REPO

Schema = dict[str, Any]


def nodes(schema: Schema, path: str = "") -> Iterator[tuple[str, Schema]]:
    """Every schema node under `schema` with its path; `[]` marks items, `{}` map values."""
    yield path, schema
    for name, child in schema.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


def root(definition: dict[str, Any]) -> Schema:
    schema: Schema = definition["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


CRDS = {"experiment": crd.experiment_crd(), "trial": crd.trial_crd()}


def test_checked_in_crds_are_generated() -> None:
    for directory in (REPO / "crds", CHART / "crds"):
        on_disk = {p.name: p.read_text() for p in directory.glob("*.yaml")}
        assert on_disk == crd.generated(), f"{directory} is stale; run python -m kubenas.api.crd"


def test_check_mode_cli_agrees() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "operator"))
    result = subprocess.run([sys.executable, "-m", "kubenas.api.crd", "--check"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_check_mode_detects_drift(tmp_path: Any) -> None:
    out, chart = tmp_path / "crds", tmp_path / "chart"
    assert crd.main(["--out", str(out), "--chart-crds", str(chart)]) == 0
    assert crd.main(["--check", "--out", str(out), "--chart-crds", str(chart)]) == 0
    (chart / "kubenas.io_nastrials.yaml").write_text("# edited\n")
    assert crd.main(["--check", "--out", str(out), "--chart-crds", str(chart)]) == 1


@pytest.mark.parametrize("kind", CRDS)
def test_every_field_has_a_description(kind: str) -> None:
    missing = [path or "<root>" for path, node in nodes(root(CRDS[kind]))
               if not node.get("description") and not path.endswith(("[]", "{}"))]
    assert not missing, f"fields without a description: {missing}"


@pytest.mark.parametrize("kind", CRDS)
def test_schema_is_structural(kind: str) -> None:
    for path, node in nodes(root(CRDS[kind])):
        untyped = node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields")
        assert "type" in node or untyped, f"{path} has no type"
        assert not {"anyOf", "oneOf", "allOf", "not", "$ref"} & node.keys(), path


@pytest.mark.parametrize("kind", CRDS)
def test_every_cel_rule_compiles(kind: str) -> None:
    env = celpy.Environment()
    for path, node in nodes(root(CRDS[kind])):
        for rule in node.get("x-kubernetes-validations", []):
            env.compile(rule["rule"])
            assert rule["message"], path


def test_names_versions_and_columns() -> None:
    exp, trial = CRDS["experiment"], CRDS["trial"]
    assert exp["spec"]["names"]["shortNames"] == ["nasx", "nasexp"]
    assert trial["spec"]["names"]["shortNames"] == ["nast"]
    for definition in CRDS.values():
        spec = definition["spec"]
        assert spec["scope"] == "Namespaced" and spec["names"]["categories"] == ["kubenas"]
        (version,) = spec["versions"]
        assert version["name"] == API_VERSION.split("/")[1]
        assert version["served"] and version["storage"] and version["subresources"] == {
            "status": {}}
    columns = {c["name"]: c["jsonPath"]
               for c in exp["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Phase"] == ".status.phase" and columns["Best"] == ".status.bestValue"
    assert columns["Trials"] == ".status.progress"
    assert columns["Running"] == ".status.trials.running"
    assert columns["Age"] == ".metadata.creationTimestamp"
    names = [c["name"] for c in trial["spec"]["versions"][0]["additionalPrinterColumns"]
             if not c.get("priority")]
    assert names == ["Experiment", "Kind", "Phase", "Budget", "Value", "Attempt", "Age"]
    # every column points at a field the schema declares
    for definition in CRDS.values():
        for column in definition["spec"]["versions"][0]["additionalPrinterColumns"]:
            if column["jsonPath"].startswith(".metadata"):
                continue
            node = root(definition)
            for part in column["jsonPath"].strip(".").split("."):
                node = node["properties"][part]


def test_status_bounds_match_the_engine() -> None:
    status = root(CRDS["experiment"])["properties"]["status"]["properties"]
    assert LEADERBOARD_SIZE == engine_status.LEADERBOARD_SIZE == status["leaderboard"]["maxItems"]
    assert PARETO_LIMIT == engine_status.PARETO_LIMIT == status["paretoFront"]["maxItems"]
    trial_status = root(CRDS["trial"])["properties"]["status"]["properties"]
    assert trial_status["curve"]["maxItems"] == CURVE_LIMIT


SPEC = {"objective": {"metric": "val_accuracy", "additional": [
            {"metric": "params", "direction": "minimize"}]},
        "searchSpace": {"family": "macro_cnn", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 4}},
            {"name": "width", "choice": [16]},
            {"name": "op", "choice": ["conv3x3", "skip"], "repeat": "depth"}]}}


def _experiment() -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "NASExperiment",
            "metadata": {"name": "q", "namespace": "default"}, "spec": dict(SPEC)}


def test_engine_summary_fits_the_status_schema() -> None:
    exp = parse(_experiment())
    trials = [Trial(i, {"depth": 1 + i % 4, "width": 16, "op": ["conv3x3"] * (1 + i % 4)}, 1.0,
                    phase="Succeeded", metrics={"val_accuracy": 0.5 + i / 100, "params": 10 - i})
              for i in range(40)]
    summary = engine_status.summarize(exp, trials)
    summary.update(phase="Running", progress="40/40", bestValue=0.89, observedGeneration=1,
                   conditions=[{"type": "Ready", "status": "False", "reason": "Running",
                                "message": "4 trials running",
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}])
    status_schema = root(CRDS["experiment"])["properties"]["status"]
    _, errors = validate(status_schema, summary, "status")
    assert not errors, errors


@pytest.mark.parametrize("example", sorted((REPO / "examples").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_cluster_examples_fit_the_crd(example: Any) -> None:
    for document in yaml.safe_load_all(example.read_text()):
        if not document or document.get("kind") != "NASExperiment" or "tabular" in document[
                "spec"]:
            continue  # tabular examples are for kubenas run/bench
        document["metadata"] = {"name": document["metadata"]["name"]}  # the rest is the server's
        assert validate(root(CRDS["experiment"]), document)[1] == []


def test_tabular_is_rejected_only_by_the_cluster() -> None:
    spec = dict(SPEC, tabular={"table": "t.csv", "key": {"column": "k", "format": "{depth}"},
                               "fidelities": [{"level": 1, "metrics": {}, "costColumn": "c"}]})
    assert validate(experiment_spec_schema(), spec)[1] == []  # kubenas run accepts it
    document = {"apiVersion": API_VERSION, "kind": "NASExperiment", "metadata": {"name": "q"}}
    _, errors = validate(root(CRDS["experiment"]), dict(document, spec=spec))
    assert [e.message for e in errors] == [crd.TABULAR_RULE["message"]]
    assert validate(root(CRDS["experiment"]), dict(document, spec=SPEC))[1] == []


def test_immutability_rules_sit_on_the_root() -> None:
    rules = [r["rule"] for r in root(CRDS["experiment"])["x-kubernetes-validations"]]
    for field in ("searchSpace", "objective", "strategy"):
        assert any(f"self.spec.{field} == oldSelf.spec.{field}" in r for r in rules)
    trial_spec = root(CRDS["trial"])["properties"]["spec"]
    assert trial_spec["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
