"""`kubenas run`'s live display: running trials, the terminal's width, a measured ETA."""

from __future__ import annotations

import io

from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.backends.local.display import RichDisplay, duration_text, eta_s
from rich.console import Console

EXP = parse({"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
             "metadata": {"name": "x"}, "spec": {
                 "objective": {"metric": "acc"},
                 "searchSpace": {"family": "toy", "parameters": [
                     {"name": "op", "choice": ["conv3x3", "conv5x5", "skip"], "repeat": 12}]},
                 "budget": {"maxTrials": 10, "maxParallelTrials": 2},
                 "training": {"epochs": 4}, "trialTemplate": {"command": ["toy"]}}})
LONG = {"op": ["conv3x3", "conv5x5", "skip"] * 4}


def done(index: int, start: float, seconds: float, acc: float) -> Trial:
    return Trial(index, LONG, 4.0, phase="Succeeded", metrics={"acc": acc}, started_at=start,
                 finished_at=start + seconds)


def test_eta_comes_from_measured_durations() -> None:
    trials = [done(0, 0, 10, 0.5), done(1, 0, 30, 0.6),
              Trial(2, LONG, 4.0, phase="Running", started_at=25.0)]
    # mean 20 s; the running trial has 15 s left; 7 not started: (15 + 7 * 20) / 2 = 77.5
    assert eta_s(EXP, trials, now=30.0, elapsed_s=30.0, parallel=2) == 77.5
    assert eta_s(EXP, trials[2:], now=30.0, elapsed_s=30.0, parallel=2) is None
    bounded = parse({**EXP_MANIFEST, "spec": {**EXP_MANIFEST["spec"],
                                             "budget": {"maxTrials": 10, "maxDuration": 60}}})
    assert eta_s(bounded, trials, now=30.0, elapsed_s=30.0, parallel=2) == 30.0
    assert duration_text(77.5) == "1m18s" and duration_text(7300) == "2h01m"


EXP_MANIFEST = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
                "metadata": {"name": "x"}, "spec": dict(EXP.spec)}


def render(width: int) -> str:
    """One frame of the live display, as a terminal `width` columns wide shows it."""
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    display = RichDisplay(EXP, console, parallel=2, clock=lambda: 30.0)
    trials = [done(0, 0, 10, 0.5), done(1, 0, 30, 0.6),
              Trial(2, LONG, 4.0, phase="Running", started_at=25.0, curve=(0.2, 0.3),
                    metrics={"acc": 0.3})]
    display.update(trials, 30.0)
    console.print(display.live.get_renderable())
    return out.getvalue()


def test_running_trials_show_epoch_and_live_metric_within_the_width() -> None:
    text = render(100)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines)
    running = next(line for line in lines if "x-2" in line)
    assert "2/4" in running and "0.3000" in running and "5s" in running
    assert "…" in running  # the architecture is cut to what the terminal leaves
    assert "ETA 1m18s" in text
    wide = render(240)
    assert '"skip","conv3x3","conv5x5","skip"]}' in next(
        line for line in wide.splitlines() if "x-2" in line)  # a wide terminal shows it all


def test_boolean_lists_are_shown_not_taken_for_markup() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    spec = dict(EXP.spec, searchSpace={"family": "toy", "parameters": [
        {"name": "se", "choice": [False, True], "repeat": 2}]})
    exp = parse({**EXP_MANIFEST, "spec": spec})
    display = RichDisplay(exp, console, parallel=2, clock=lambda: 30.0)
    trial = Trial(0, {"se": [False, True]}, 4.0, phase="Succeeded", metrics={"acc": 0.5},
                  started_at=0.0, finished_at=10.0)
    display.update([trial], 30.0)
    console.print(display.live.get_renderable())
    assert '{"se":[false,true]}' in out.getvalue()
