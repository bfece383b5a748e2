"""The dashboard's pure view shaping: records in, bounded view JSON out."""

from __future__ import annotations

from typing import Any

import pytest
from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.dashboard import views
from kubenas.dashboard.views import BadQuery, NotFound, Snapshot, TrialQuery
from kubenas.engine.status import summarize


def experiment(**spec: Any) -> Experiment:
    body: dict[str, Any] = {
        "objective": {"metric": "acc"},
        "searchSpace": {"family": "toy", "parameters": [
            {"name": "depth", "int": {"min": 1, "max": 3}},
            {"name": "op", "choice": ["a", "b", "c"], "repeat": "depth"},
            {"name": "width", "choice": [8, 16]}]},
        "strategy": {"name": "random", "seed": 1},
        "budget": {"maxTrials": 40, "maxParallelTrials": 2},
        "trialTemplate": {"command": ["toy"]},
        **spec,
    }
    return parse({"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
                  "metadata": {"name": "t"}, "spec": body})


def trial(index: int, ops: list[str], acc: float | None, *, phase: str = "Succeeded",
          width: int = 8, **fields: Any) -> Trial:
    metrics = {} if acc is None else {"acc": acc}
    return Trial(index, {"depth": len(ops), "op": ops, "width": width}, 1.0, phase=phase,  # type: ignore[arg-type]
                 metrics={**metrics, **fields.pop("metrics", {})},
                 started_at=fields.pop("started_at", 100.0 + index),
                 finished_at=fields.pop("finished_at", 110.0 + index), **fields)


def snap(exp: Experiment, trials: list[Trial], status: dict[str, Any] | None = None,
         live: bool = False) -> Snapshot:
    return Snapshot("run", exp.name, exp.namespace, exp, status or {}, tuple(trials), live)


def test_downsample_keeps_ends_and_bound() -> None:
    values = list(range(1000))
    out = views.downsample(values, 10)
    assert len(out) == 10 and out[0] == 0 and out[-1] == 999
    assert out == sorted(out)
    assert views.downsample([1, 2, 3], 10) == [1, 2, 3]


def test_row_uses_the_status_unless_the_run_is_live() -> None:
    exp = experiment()
    trials = [trial(0, ["a"], 0.5), trial(1, ["b", "c"], 0.9), trial(2, ["a"], None,
                                                                       phase="Running")]
    status = {"phase": "Succeeded", "bestValue": 0.1, "progress": "9/40"}
    assert views.experiment_row(snap(exp, trials, status))["bestValue"] == 0.1
    live = views.experiment_row(snap(exp, trials, status, live=True))
    assert live["phase"] == "Running" and live["bestValue"] == 0.9
    assert live["progress"] == "2/40" and live["trials"]["running"] == 1
    assert views.experiment_row(snap(exp, trials))["phase"] == "Unknown"


def test_trials_page_sorts_filters_and_pages() -> None:
    exp = experiment()
    trials = [trial(i, ["a", "b"][: 1 + i % 2], acc=i / 100) for i in range(30)]
    trials[3] = trials[3].with_(phase="Failed", metrics={}, reason="Error")
    page = views.trials_page(snap(exp, trials), TrialQuery(sort="value", descending=True,
                                                            size=7, page=2))
    assert page["pages"] == 5 and page["matched"] == 30
    assert [r["index"] for r in page["rows"]] == [22, 21, 20, 19, 18, 17, 16]
    last = views.trials_page(snap(exp, trials), TrialQuery(sort="value", size=7, page=9))
    assert last["page"] == 5 and last["rows"][-1]["index"] == 3  # no value: sorted last
    failed = views.trials_page(snap(exp, trials), TrialQuery(phases=("Failed",)))
    assert [r["name"] for r in failed["rows"]] == ["t-3"]
    assert failed["rows"][0]["reason"] == "Error"
    text = views.trials_page(snap(exp, trials), TrialQuery(text='"b"'))
    assert {r["index"] % 2 for r in text["rows"]} == {1}
    assert page["rows"][0]["architecture"] == {"depth": 1, "op": ["a"], "width": 8}  # t-22
    assert page["rows"][0]["duration"] == 10.0


def test_parse_query_refuses_bad_values() -> None:
    assert views.parse_query({"sort": "value", "order": "desc", "phase": "Failed,Stopped",
                              "page": "2"}) == TrialQuery("value", True, "", ("Failed",
                                                                              "Stopped"), 2)
    for bad in ({"sort": "nope"}, {"order": "up"}, {"page": "x"}, {"size": "0"},
                {"size": "1000"}, {"page": "0"}):
        with pytest.raises(BadQuery):
            views.parse_query(bad)


def test_overview_matches_the_status_summary() -> None:
    exp = experiment()
    trials = [trial(i, [["a", "b", "c"][i % 3]] * (1 + i % 3), acc=(i * 37 % 23) / 23,
                    width=[8, 16][i % 2]) for i in range(40)]
    view = views.overview(snap(exp, trials))
    summary = summarize(exp, trials)
    assert view["bestTrial"]["name"] == summary["bestTrial"]["name"]
    ops = view["opFrequency"]
    assert ops["trials"] == [t["name"] for t in summary["leaderboard"]]
    assert ops["slots"] == ["op[0]", "op[1]", "op[2]", "width"]
    for slot, name in enumerate(ops["slots"]):
        counted = {ops["values"][v]: n for s, v, n in ops["counts"] if s == slot}
        assert sum(counted.values()) == len(ops["trials"])
        if name == "op[0]":
            expected: dict[str, int] = {}
            for t in summary["leaderboard"]:
                expected[t["architecture"]["op"][0]] = expected.get(
                    t["architecture"]["op"][0], 0) + 1
            assert counted == expected
    best = view["bestSoFar"]
    values = [v for _, v, _ in best["best"]]
    assert values == sorted(values) and values[-1] == max(t.metrics["acc"] for t in trials)
    dims = [d["name"] for d in view["parallel"]["dimensions"]]
    assert dims == ["depth", "op[0]", "op[1]", "op[2]", "width", "acc"]
    assert view["pareto"] is None


def test_pareto_view_marks_the_front_and_constraints() -> None:
    exp = experiment(objective={"metric": "acc", "additional": [
        {"metric": "lat", "direction": "minimize"}], "constraints": [
        {"metric": "lat", "max": 5.0}]})
    points = [(0.9, 9.0), (0.8, 4.0), (0.7, 2.0), (0.6, 3.0), (0.95, 4.5)]
    trials = [trial(i, ["abc"[i % 3]] * (1 + i % 3), acc, width=[8, 16][i // 3],
                    metrics={"lat": lat}) for i, (acc, lat) in enumerate(points)]
    view = views.overview(snap(exp, trials))["pareto"]
    assert view["front"] == ["t-4", "t-1", "t-2"]  # t-3 is dominated by t-2; t-0 infeasible
    infeasible = [p["name"] for p in view["points"] if not p["feasible"]]
    assert infeasible == ["t-0"]
    assert view["metrics"] == ["acc", "lat"]


def test_curves_are_downsampled_and_promotions_link_parents() -> None:
    exp = experiment()
    parent = trial(0, ["a"], 0.5, curve=tuple(i / 1000 for i in range(300)))
    child = trial(1, ["a"], 0.7, parent=0, curve=(0.6, 0.7)).with_(budget=3.0)
    running = trial(2, ["b"], 0.2, phase="Running", curve=(0.1, 0.2), finished_at=None)
    view = views.overview(snap(exp, [parent, child, running]))
    series = {s["name"]: s for s in view["curves"]["series"]}
    assert set(series) == {"t-0", "t-1", "t-2"}
    assert len(series["t-0"]["points"]) == views.CURVE_POINTS
    assert series["t-1"]["parent"] == "t-0"
    assert series["t-1"]["points"] == [[2, 0.6], [3, 0.7]]  # resumed: the last 2 of 3 epochs
    assert view["promotions"] == [{"name": "t-1", "parent": "t-0", "budget": 3.0,
                                   "parentBudget": 1.0, "value": 0.7, "parentValue": 0.5,
                                   "phase": "Succeeded"}]
    detail = views.trial_detail(snap(exp, [parent, child, running]), "t-1")
    assert detail["ancestors"] == ["t-0"] and detail["children"] == []
    assert views.trial_detail(snap(exp, [parent, child]), "t-0")["children"] == ["t-1"]
    with pytest.raises(NotFound):
        views.trial_detail(snap(exp, [parent]), "t-9")


def test_rendering_draws_cells_and_layer_stacks() -> None:
    cell_exp = experiment(searchSpace={"family": "nb201", "parameters": [
        {"name": "edges", "choice": ["none", "skip_connect", "nor_conv_3x3"], "repeat": 6}],
        "cell": {"parameter": "edges", "nodes": 4, "zeroOp": "none",
                 "identityOp": "skip_connect"}})
    ops = ["nor_conv_3x3", "none", "skip_connect", "none", "nor_conv_3x3", "skip_connect"]
    cell = views.rendering(cell_exp, {"edges": ops})
    assert cell["kind"] == "cell" and cell["nodes"] == 4
    assert [(e["from"], e["to"], e["op"]) for e in cell["edges"]] == [
        (0, 1, ops[0]), (0, 2, ops[1]), (1, 2, ops[2]), (0, 3, ops[3]), (1, 3, ops[4]),
        (2, 3, ops[5])]
    stack = views.rendering(experiment(), {"depth": 2, "op": ["a", "c"], "width": 16})
    assert stack == {"kind": "stack", "layers": [{"op": "a"}, {"op": "c"}],
                     "settings": {"depth": 2, "width": 16}}


def test_a_2000_trial_overview_stays_bounded() -> None:
    exp = experiment(budget={"maxTrials": 2000})
    trials = [trial(i, [["a", "b", "c"][i % 3]] * (1 + i % 3), acc=(i * 7919 % 1000) / 1000,
                    width=[8, 16][i % 2], curve=tuple(range(60))) for i in range(2000)]
    view = views.overview(snap(exp, trials))
    assert len(view["curves"]["series"]) <= views.CURVE_TRIALS
    assert all(len(s["points"]) <= views.CURVE_POINTS for s in view["curves"]["series"])
    assert len(view["bestSoFar"]["points"]) <= views.SERIES_POINTS
    assert len(view["parallel"]["rows"]) <= views.PARALLEL_LIMIT
    page = views.trials_page(snap(exp, trials), TrialQuery(size=50))
    assert len(page["rows"]) == 50 and page["pages"] == 40


def test_a_running_trial_has_a_duration_so_far() -> None:
    exp = experiment()
    trials = [trial(0, ["a"], 0.5), trial(1, ["b"], None, phase="Running", finished_at=None),
              trial(2, ["c"], None, phase="Pending", started_at=None, finished_at=None)]
    rows = views.trials_page(snap(exp, trials), TrialQuery(), now=131.0)["rows"]
    assert [r["duration"] for r in rows] == [10.0, 30.0, None]
    assert views.trials_page(snap(exp, trials), TrialQuery())["rows"][1]["duration"] is None


def test_one_shot_view_is_the_status_weights_as_a_heatmap() -> None:
    exp = experiment()
    shot = {"method": "drnas", "trial": "t-0", "phase": "Succeeded", "weightKind": "probability",
            "architecture": {"depth": 2, "op": ["c", "a"], "width": 8},
            "weights": {"op": [[0.2, 0.3, 0.5], [0.6, 0.1, float("nan")]]},
            "candidates": [{"architecture": {"depth": 2, "op": ["c", "a"], "width": 8},
                            "score": 0.4, "trial": "t-1", "value": 0.9},
                           {"architecture": {"depth": 2, "op": ["b", "a"], "width": 8},
                            "score": 0.3}]}
    view = views.overview(snap(exp, [trial(1, ["c", "a"], 0.9)], {"oneShot": shot}))["oneShot"]
    assert (view["method"], view["trial"], view["weightKind"]) == ("drnas", "t-0",
                                                                   "probability")
    assert view["parameter"] == "op" and view["ops"] == ["a", "b", "c"]
    assert view["slots"] == ["op[0]", "op[1]"] and view["derived"] == ["c", "a"]
    # Row by row, column by column; the non-finite weight is left out, not drawn as 0.
    assert view["weights"] == [[0, 0, 0.2], [0, 1, 0.3], [0, 2, 0.5], [1, 0, 0.6], [1, 1, 0.1]]
    assert [(c["trial"], c["score"], c["value"]) for c in view["candidates"]] == \
        [("t-1", 0.4, 0.9), (None, 0.3, None)]


def test_one_shot_view_before_the_supernet_derived_and_for_multi_trial_search() -> None:
    exp = experiment()
    pending = views.overview(snap(exp, [], {"oneShot": {"method": "spos", "trial": "t-0",
                                                        "phase": "Running"}}))["oneShot"]
    assert pending["phase"] == "Running" and pending["weights"] == [] and \
        pending["candidates"] == []
    assert views.overview(snap(exp, [], {"phase": "Running"}))["oneShot"] is None
