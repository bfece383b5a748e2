"""One-shot search in the engine: one supernet trial, then its candidates retrained."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubenas.api.parse import ManifestError, parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import BadResult, TrialResult, interpret, trial_env
from kubenas.engine.engine import Engine
from kubenas.engine.status import summarize

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def manifest(strategy: str = "drnas", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objective": {"metric": "val_accuracy"},
        "searchSpace": {"family": "nb201", "parameters": [
            {"name": "edges", "choice": OPS, "repeat": 6},
            {"name": "cells_per_stage", "choice": [1]},
            {"name": "channels", "int": {"min": 8, "max": 8}},
        ]},
        "strategy": {"name": strategy, "seed": 4,
                     "settings": {"supernetEpochs": 5, "retrain": 3}},
        "budget": {"maxTrials": 10, "maxParallelTrials": 3},
        "training": {"dataset": "digits", "epochs": 12},
        **spec,
    }
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "os"}, "spec": body}


def cell(*ops: str) -> dict[str, Any]:
    return {"edges": list(ops)}


CANDIDATES = [cell(*["nor_conv_3x3"] * 6), cell(*["nor_conv_1x1"] * 6),
              cell("nor_conv_3x3", "skip_connect", "nor_conv_3x3", "none", "nor_conv_1x1",
                   "nor_conv_3x3"),
              cell(*["avg_pool_3x3"] * 6)]


def supernet_result(candidates: list[dict[str, Any]] = CANDIDATES) -> dict[str, Any]:
    return {"metrics": {"val_accuracy": 0.99, "val_loss": 0.1}, "curve": [0.9, 0.99],
            "supernet": {"method": "drnas", "architecture": candidates[0],
                         "candidates": [{"params": c, "score": 0.9 - i / 10}
                                        for i, c in enumerate(candidates)],
                         "weights": {"edges": [[0.1, 0.1, 0.2, 0.5, 0.1]] * 6},
                         "weightKind": "probability"}}


def finish_supernet(exp: Experiment, trial: Trial, result: dict[str, Any]) -> Trial:
    read = interpret(result, "val_accuracy", trial.kind, exp.space)
    assert isinstance(read, TrialResult)
    return trial.with_(phase="Succeeded", metrics=read.metrics, derived=read.derived)


def test_the_first_trial_is_one_supernet_trial_with_the_space_as_its_request() -> None:
    exp = parse(manifest())
    decision = Engine(exp).decide([])
    assert len(decision.create) == 1, "nothing else runs while the supernet searches"
    new = decision.create[0]
    assert (new.kind, new.budget, dict(new.arch)) == ("supernet", 5.0,
                                                       {"cells_per_stage": 1, "channels": 8})
    assert new.request == {"method": "drnas", "choices": {"edges": OPS}, "candidates": 3,
                           "settings": {}}
    env = trial_env(exp, new.record(), seed=1, metrics_port=0, export_dir="/out")
    assert json.loads(env["KUBENAS_SUPERNET"]) == new.request
    assert "KUBENAS_EXPORT_DIR" not in env, "a supernet trial exports no model"
    assert json.loads(env["KUBENAS_ARCHITECTURE"]) == {
        "family": "nb201", "params": {"cells_per_stage": 1, "channels": 8}}


def test_the_supernet_result_becomes_retrain_trials_and_the_best_retrain_wins() -> None:
    exp = parse(manifest())
    engine = Engine(exp)
    trials = [engine.decide([]).create[0].record()]
    assert engine.decide(trials).create == (), "wait for the running supernet"
    trials[0] = finish_supernet(exp, trials[0], supernet_result())
    created = engine.decide(trials).create
    fixed = {"cells_per_stage": 1, "channels": 8}
    assert [dict(n.arch) for n in created] == [{**fixed, **c} for c in CANDIDATES[:3]]
    assert {(n.kind, n.budget) for n in created} == {("train", 12.0)}
    trials += [n.record().with_(phase="Succeeded", metrics={"val_accuracy": acc})
               for n, acc in zip(created, (0.91, 0.95, 0.93), strict=True)]
    decision = engine.decide(trials)
    assert decision.outcome is not None and decision.outcome.reason == "CandidatesRetrained"
    best = engine.best(trials)
    assert best is not None and best.index == 2, "the supernet's 0.99 is a search score only"
    status = summarize(exp, trials)
    assert status["bestTrial"]["name"] == "os-2"
    shot = status["oneShot"]
    assert (shot["method"], shot["trial"], shot["phase"]) == ("drnas", "os-0", "Succeeded")
    assert shot["architecture"] == {**fixed, **CANDIDATES[0]}
    assert [(c.get("trial"), c.get("value"), c["score"]) for c in shot["candidates"]] == [
        ("os-1", 0.91, 0.9), ("os-2", 0.95, 0.8), ("os-3", 0.93, 0.7)]
    assert shot["weights"]["edges"][0] == [0.1, 0.1, 0.2, 0.5, 0.1]


def test_a_failed_supernet_trial_is_retried_as_a_new_trial() -> None:
    exp = parse(manifest())
    engine = Engine(exp)
    trials = [engine.decide([]).create[0].record().with_(phase="Failed", reason="Error")]
    retry = engine.decide(trials).create
    assert [(n.index, n.kind) for n in retry] == [(1, "supernet")]


@pytest.mark.parametrize(("change", "problem"), [
    (lambda r: r["supernet"]["candidates"].append({"params": cell("conv", *["none"] * 5)}),
     "supernet candidate 4 is not in the search space: edges: 'conv' is not allowed"),
    (lambda r: r["supernet"].update(candidates=[]), "supernet lists no candidates"),
    (lambda r: r.pop("supernet"), "a supernet trial's result needs a supernet object"),
])
def test_a_supernet_result_outside_the_space_fails_the_trial(change: Any, problem: str) -> None:
    exp = parse(manifest())
    result = supernet_result()
    change(result)
    read = interpret(result, "val_accuracy", "supernet", exp.space)
    assert isinstance(read, BadResult) and problem in read.message


def test_non_finite_or_foreign_values_in_a_supernet_result_never_reach_a_status() -> None:
    exp = parse(manifest())
    result = supernet_result()
    result["supernet"]["candidates"][0]["score"] = float("nan")
    result["supernet"]["weights"] = {"edges": [[float("inf")] * 5] * 6}
    result["supernet"]["weightKind"] = "vibes"
    read = interpret(result, "val_accuracy", "supernet", exp.space)
    assert isinstance(read, TrialResult) and read.derived is not None
    assert "score" not in read.derived["candidates"][0]
    assert "weights" not in read.derived and "weightKind" not in read.derived
    json.dumps(read.derived, allow_nan=False)


@pytest.mark.parametrize(("spec", "message"), [
    ({"searchSpace": {"family": "nb201", "parameters": [
        {"name": "edges", "choice": OPS, "repeat": 6},
        {"name": "channels", "choice": [8, 16]}]}},
     "spec.searchSpace.parameters: one-shot search (darts, drnas, spos) and "
     "strategy.settings.prescreen search one operation list"),
    ({"objective": {"metric": "latency_ms", "direction": "minimize"}},
     "spec.objective.metric: a supernet is trained on the loss"),
    ({"objective": {"metric": "val_accuracy", "additional": [
        {"metric": "params", "direction": "minimize"}]}},
     "spec.objective.additional: darts, drnas, spos optimise one objective"),
    ({"fidelity": {"resource": "steps", "min": 10, "max": 90}},
     "spec.fidelity.resource: a supernet trains in epochs"),
])
def test_manifests_a_supernet_cannot_search_are_refused(spec: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse(manifest(**spec))
    assert message in str(caught.value)


def test_mobilenet_has_no_supernet_in_the_builtin_trainer() -> None:
    body = manifest()
    body["spec"]["searchSpace"] = {"family": "mobilenet", "parameters": [
        {"name": "depth", "int": {"min": 1, "max": 1}, "repeat": 4},
        {"name": "kernel", "choice": [3, 5], "repeat": 4},
        {"name": "expansion", "choice": [3], "repeat": 4}]}
    with pytest.raises(ManifestError) as caught:
        parse(body)
    assert "supernets and zero-cost screens for macro_cnn and nb201 only" in str(caught.value)
