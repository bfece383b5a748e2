"""What plugging in another table takes: one fidelity, no cost column, the manifest's own
strategy, and result files named after the manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubenas import cli
from kubenas.api.parse import ManifestError, load_file
from kubenas.backends.tabular import bench

from tests.unit.tabular import synthetic


def _single_fidelity(folder: Path, **fidelity: Any) -> Path:
    """The toy table as a one-fidelity benchmark: no spec.fidelity, no level, no cost column."""
    synthetic.small(folder)
    manifest = yaml.safe_load((folder / "single.yaml").read_text())
    spec = manifest["spec"]
    del spec["fidelity"]
    spec["strategy"] = {"name": "evolution", "settings": {"population": 4}}
    spec["tabular"]["fidelities"] = [{"metrics": {"score": "high"}, **fidelity}]
    path = folder / "one-fidelity.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


def test_a_single_fidelity_table_with_a_constant_cost_runs(tmp_path: Path) -> None:
    path = _single_fidelity(tmp_path / "toy", cost=10)
    exp = load_file(path)
    assert exp.tabular is not None
    assert exp.tabular.fidelities[0].level == exp.training["epochs"]  # the one budget level
    out = tmp_path / "results"
    assert bench.main([str(path), "--seeds", "2", "--budgets", "100", "--workers", "1",
                       "--strategies", "default", "--out", str(out)]) == 0
    rows = json.loads((out / "one-fidelity.json").read_text())  # named after the manifest
    assert [(r["strategy"], r["figure"]) for r in rows] == [("default", "test")]
    assert rows[0]["mean_test"] is not None


def test_default_runs_the_manifests_own_strategy_and_settings(tmp_path: Path) -> None:
    exp = load_file(_single_fidelity(tmp_path / "toy", cost=10))
    task = bench.Task("m", bench.Variant.parse("default"), 50.0, seed=3)
    strategy = bench.variant_of(exp, task).strategy
    assert (strategy.name, strategy.settings, strategy.seed) == (
        "evolution", {"population": 4}, 3)


def test_default_takes_no_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _single_fidelity(tmp_path / "toy", cost=10)
    assert bench.main([str(path), "--strategies", "default:population=8", "--out",
                       str(tmp_path / "r")]) == 2
    assert "set them in the manifest" in capsys.readouterr().err


@pytest.mark.parametrize(("fidelity", "field", "text"), [
    ({"cost": 1, "costColumn": "cost"}, "spec.tabular.fidelities[0]",
     "set exactly one of costColumn and cost"),
    ({}, "spec.tabular.fidelities[0]", "set exactly one of costColumn and cost"),
])
def test_cost_is_a_column_or_a_constant(tmp_path: Path, fidelity: dict[str, Any], field: str,
                                        text: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(_single_fidelity(tmp_path / "toy", **fidelity))
    assert any(e.path == field and text in e.message for e in caught.value.errors)


def test_a_level_may_be_left_out_only_with_one_budget_level(tmp_path: Path) -> None:
    path = _single_fidelity(tmp_path / "toy", cost=1)
    manifest = yaml.safe_load(path.read_text())
    manifest["spec"]["fidelity"] = {"levels": [1, 10]}
    path.write_text(yaml.safe_dump(manifest))
    with pytest.raises(ManifestError) as caught:
        load_file(path)
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("spec.tabular.fidelities[0].level",
         "required: the experiment has several budget levels; valid: [1.0, 10.0]")]


@pytest.mark.parametrize(("damage", "field", "text"), [
    (lambda folder: (folder / "table.csv").unlink(), "spec.tabular.table", "cannot read"),
    (lambda folder: (folder / "table.csv").write_text("key,low\nx-1-p,1\n"), "spec.tabular",
     "has no numeric column 'high'"),
    (lambda folder: (folder / "table.csv").write_text(""), "spec.tabular.table",
     "is not a CSV table with a header row"),
])
def test_a_bad_table_is_named_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              damage: Any, field: str, text: str) -> None:
    path = _single_fidelity(tmp_path / "toy", cost=1)
    damage(tmp_path / "toy")
    assert cli.main(["run", str(path), "--out", str(tmp_path / "run")]) == 2
    assert bench.main([str(path), "--out", str(tmp_path / "r")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(f"{field}: " in line and text in line for line in lines)
    assert lines[0].startswith(f"{path}: ")


def test_one_shot_strategies_are_left_out_of_a_table(tmp_path: Path) -> None:
    exp = load_file(_single_fidelity(tmp_path / "toy", cost=10))
    names = [v.name for v in bench.applicable(exp, [bench.Variant.parse(n) for n in (
        "default", "random", "darts", "drnas", "spos")])]
    assert names == ["default", "random"], "no table answers a supernet trial"
    assert "darts" not in bench.parse_args(["m"]).strategies
