"""Defaults, durations and fidelity levels of valid manifests."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubenas.api.parse import fidelity_levels, load_file, parse, parse_duration

EXAMPLES = sorted((Path(__file__).parents[3] / "examples").glob("*.yaml"))


def minimal(**spec: object) -> dict[str, object]:
    body: dict[str, object] = {
        "objective": {"metric": "val_accuracy"},
        "searchSpace": {"family": "macro_cnn", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 2}}, {"name": "width", "choice": [8, 16]},
            {"name": "op", "choice": ["conv3x3", "skip"], "repeat": "depth"}]},
    }
    body.update(spec)
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "m"}, "spec": body}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_valid(path: Path) -> None:
    assert load_file(path).name


def test_defaults_are_applied_from_the_schema() -> None:
    exp = parse(minimal())
    assert exp.objective.primary.direction == "maximize"
    assert exp.strategy.seed == 0
    assert (exp.budget.max_trials, exp.budget.max_parallel, exp.budget.max_failed) == (20, 1, 3)
    assert exp.training["dataset"] == "digits" and exp.training["batchSize"] == 64
    assert exp.trial_template["metricsPort"] == 9090
    assert exp.fidelity is None and exp.max_budget == 5
    assert exp.suspend is False


def test_durations() -> None:
    assert parse_duration(90) == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == 0.25
    with pytest.raises(ValueError):
        parse_duration("5 minutes")
    exp = parse(minimal(budget={"maxDuration": "2m", "trialTimeout": 30}))
    assert exp.budget.max_duration_s == 120 and exp.budget.trial_timeout_s == 30


def test_fidelity_levels() -> None:
    assert fidelity_levels({"min": 1, "max": 9, "reductionFactor": 3}) == (1, 3, 9)
    assert fidelity_levels({"min": 2, "max": 18, "reductionFactor": 3}) == (2, 6, 18)
    assert fidelity_levels({"min": 1, "max": 10, "reductionFactor": 3}) == (1, 3, 9, 10)
    assert fidelity_levels({"levels": [12, 200]}) == (12, 200)


def test_several_errors_are_reported_at_once() -> None:
    bad = minimal(budget={"maxTrials": 0, "maxParallelTrials": "two"})
    with pytest.raises(ValueError) as caught:
        parse(bad, source="x.yaml")
    text = str(caught.value)
    assert "x.yaml: spec.budget.maxTrials" in text
    assert "x.yaml: spec.budget.maxParallelTrials" in text


def test_reference_docs_are_generated_from_the_schema() -> None:
    from kubenas.api.reference import TARGET, render

    path = Path(__file__).parents[3] / TARGET
    assert path.read_text() == render(), "run: python -m kubenas.api.reference"
