"""Zero-cost pre-screening: the proxy guard, the screen trial and its candidates."""

from __future__ import annotations

import json
from typing import Any

from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.contract import TrialResult, interpret, trial_env
from kubenas.engine.engine import Engine
from kubenas.engine.prescreen import guard
from kubenas.engine.status import summarize

from .test_oneshot import OPS, cell
from .test_oneshot import manifest as one_shot_manifest


def manifest(**settings: Any) -> dict[str, Any]:
    body = one_shot_manifest("random")
    body["spec"]["strategy"]["settings"] = {"prescreen": 500, "prescreenTop": 2,
                                            "proxyGuardTrials": 4,
                                            "proxies": ["synflow", "params"], **settings}
    body["spec"]["budget"] = {"maxTrials": 12, "maxParallelTrials": 1}
    return body


def trained(engine: Engine, trials: list[Trial], synflow: list[float],
            params: list[float]) -> list[Trial]:
    """Run one guard trial per value: accuracy rises with trial index."""
    for i, (s, p) in enumerate(zip(synflow, params, strict=True)):
        new = engine.decide(trials).create[0]
        assert new.kind == "train"
        trials.append(new.record().with_(phase="Succeeded", metrics={
            "val_accuracy": 0.5 + i / 100, "zc_synflow": s, "zc_params": p}))
    return trials


def test_every_trained_trial_reports_its_proxies_for_the_guard() -> None:
    exp = parse(manifest())
    new = Engine(exp).decide([]).create[0]
    env = trial_env(exp, new.record(), seed=1, metrics_port=0)
    assert json.loads(env["KUBENAS_ZEROCOST"]) == {"proxies": ["synflow", "params"],
                                                   "batchSize": 64}


def test_the_guard_drops_an_uncorrelated_proxy_and_screens_with_the_rest() -> None:
    exp = parse(manifest())
    engine = Engine(exp)
    trials = trained(engine, [], synflow=[1, 2, 3, 4], params=[4, 1, 3, 2])
    checks = guard(exp, trials)
    assert checks is not None
    assert [(c.name, c.kept) for c in checks] == [("synflow", True), ("params", False)]
    assert checks[0].spearman == 1.0 and round(checks[1].spearman or 0, 6) == -0.4
    screen = engine.decide(trials).create[0]
    assert screen.kind == "zerocost" and screen.budget == 1.0
    assert screen.request == {"proxies": ["synflow"], "choices": {"edges": OPS},
                              "sample": 500, "top": 2, "batchSize": 64}
    status = summarize(exp, [*trials, screen.record()])["zeroCost"]
    assert status["proxies"] == [{"name": "synflow", "kept": True, "spearman": 1.0},
                                 {"name": "params", "kept": False, "spearman": -0.4}]
    assert (status["trial"], status["phase"]) == ("os-4", "Pending")


def test_the_screens_best_candidates_are_trained_first_then_the_strategy_resumes() -> None:
    exp = parse(manifest())
    engine = Engine(exp)
    trials = trained(engine, [], synflow=[1, 2, 3, 4], params=[1, 2, 3, 4])
    screen = engine.decide(trials).create[0].record()
    top = [cell(*["nor_conv_3x3"] * 6), cell(*["nor_conv_1x1"] * 6), cell(*["none"] * 6)]
    read = interpret({"metrics": {"scored": 500}, "zeroCost": {"scored": 500, "top": [
        {"params": c, "scores": {"synflow": 10.0 - i, "params": float("nan")}}
        for i, c in enumerate(top)]}}, "val_accuracy", "zerocost", exp.space)
    assert isinstance(read, TrialResult) and read.derived is not None
    assert read.derived["top"][0]["scores"] == {"synflow": 10.0, "params": None}
    trials.append(screen.with_(phase="Succeeded", metrics=read.metrics, derived=read.derived))
    picks = []
    for _ in range(3):
        new = engine.decide(trials).create[0]
        picks.append(dict(new.arch)["edges"])
        trials.append(new.record().with_(phase="Succeeded", metrics={"val_accuracy": 0.6}))
    assert picks[:2] == [top[0]["edges"], top[1]["edges"]], "prescreenTop: 2"
    assert picks[2] not in (top[0]["edges"], top[1]["edges"], top[2]["edges"])
    assert summarize(exp, trials)["zeroCost"]["scored"] == 500


def test_when_no_proxy_survives_the_guard_there_is_no_screen() -> None:
    exp = parse(manifest(minSpearman=0.9))
    engine = Engine(exp)
    trials = trained(engine, [], synflow=[2, 1, 4, 3], params=[4, 3, 2, 1])
    assert engine.decide(trials).create[0].kind == "train"
    assert [p["kept"] for p in summarize(exp, trials)["zeroCost"]["proxies"]] == [False, False]


def test_prescreen_off_changes_nothing() -> None:
    body = manifest()
    body["spec"]["strategy"]["settings"] = {}
    exp: Experiment = parse(body)
    new = Engine(exp).decide([]).create[0]
    assert "KUBENAS_ZEROCOST" not in trial_env(exp, new.record(), seed=1, metrics_port=0)
    assert "zeroCost" not in summarize(exp, [])
