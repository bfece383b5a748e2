"""`kubenas bench`: every strategy side by side on a tabular benchmark, over many seeds.

A benchmark is a folder of NASExperiment manifests with `spec.tabular` (or one manifest).
Single-objective manifests give one row per (strategy, budget) with the mean and standard
deviation of the judged figure of the returned best; multi-objective manifests give the
hypervolume ratio of the returned Pareto front. Seeds run in a process pool.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kubenas.api import strategy_settings
from kubenas.api.parse import ManifestError, load_file
from kubenas.api.strategy_settings import STRATEGIES
from kubenas.api.types import Experiment, StrategySpec
from kubenas.backends.tabular.report import write_results
from kubenas.backends.tabular.score import Scorer
from kubenas.backends.tabular.simulate import Answers, answers_for, simulate
from kubenas.space.space import SearchSpace

# The published baselines are single-fidelity searches: they run as the protocol defines them.
PROTOCOL_SETTINGS: dict[str, dict[str, Any]] = {
    "random": {"promotion": "none"},
    "evolution": {"promotion": "none"},
    "grid": {"promotion": "none", "shuffle": True},
    "tpe": {"promotion": "none"},
    "reinforce": {"promotion": "none"},
}
CURVE_POINTS = 121
DEFAULT = "default"  # the manifest's own strategy, settings and all


@dataclass(frozen=True)
class Variant:
    """A strategy with its settings, as one row label."""

    name: str
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        if self.name == DEFAULT:
            return DEFAULT
        extra = {k: v for k, v in self.settings if PROTOCOL_SETTINGS.get(self.name, {}).get(k) != v}
        return self.name + (f"({','.join(f'{k}={v}' for k, v in extra.items())})" if extra
                            else "")

    @staticmethod
    def parse(text: str) -> Variant:
        """`name` or `name:key=value,key=value` (values are YAML scalars)."""
        name, _, rest = text.partition(":")
        settings = dict(PROTOCOL_SETTINGS.get(name, {}))
        for pair in filter(None, rest.split(",")):
            key, _, value = pair.partition("=")
            settings[key] = yaml.safe_load(value)
        return Variant(name, tuple(sorted(settings.items())))


@dataclass(frozen=True)
class Task:
    manifest: str
    variant: Variant
    budget_s: float
    seed: int


@cache
def _experiment(manifest: str) -> Experiment:
    return load_file(manifest)


@cache
def _answers(manifest: str) -> tuple[Answers, Scorer, SearchSpace]:
    """What every seed of a manifest shares in a worker: the table and one SearchSpace."""
    exp = _experiment(manifest)
    answers = answers_for(exp)
    return answers, Scorer(exp, answers), SearchSpace(exp.space)


def variant_of(exp: Experiment, task: Task) -> Experiment:
    strategy = replace(exp.strategy, seed=task.seed) if task.variant.name == DEFAULT else \
        StrategySpec(task.variant.name, task.seed, dict(task.variant.settings))
    return replace(exp, strategy=strategy,
                   budget=replace(exp.budget, max_duration_s=task.budget_s))


def run_task(task: Task) -> dict[str, Any]:
    """One seed: the judged figure (or hypervolume ratio) and the best-so-far curve."""
    exp = variant_of(_experiment(task.manifest), task)
    answers, scorer, space = _answers(task.manifest)
    run = simulate(exp, answers, space)
    if exp.objective.multi:
        return {"value": scorer.hv_ratio(run.front(exp))}
    times = np.linspace(0.0, task.budget_s, CURVE_POINTS)
    curve = np.full(CURVE_POINTS, np.nan)
    for t, row in run.trajectory:
        curve[times >= t] = scorer.figure(row)
    value = scorer.figure(run.rows[run.best.index]) if run.best is not None else float("nan")
    return {"value": value, "curve": curve.tolist(), "trials": len(run.trials)}


def judged_figure(exp: Experiment) -> str:
    """What a row's mean is of: the hypervolume ratio, or the column the primary objective
    is judged on (its `tabular.judge` report metric, else the objective itself)."""
    if exp.objective.multi:
        return "hv_ratio"
    assert exp.tabular is not None
    metric = exp.objective.primary.metric
    return exp.tabular.judge.get(metric, metric)


def manifests(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    found = sorted(p for p in path.glob("*.yaml") if p.is_file())
    if not found:
        raise FileNotFoundError(f"{path} holds no *.yaml manifests")
    return found


def applicable(exp: Experiment, variants: Iterable[Variant]) -> list[Variant]:
    """The variants that can search this experiment's objectives from a table (a one-shot
    strategy trains a supernet, which no table answers)."""
    multi = exp.objective.multi
    return [v for v in variants
            if v.name == DEFAULT or (not STRATEGIES[v.name].one_shot and (
                STRATEGIES[v.name].multi_objective if multi
                else STRATEGIES[v.name].single_objective))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kubenas bench", description=__doc__)
    parser.add_argument("manifest", metavar="MANIFEST_DIR_OR_FILE", type=Path)
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--budgets", default="12000,4000",
                        help="simulated-second budgets, comma separated (first one is plotted)")
    parser.add_argument("--strategies", default=",".join(sorted(
        name for name, info in STRATEGIES.items() if not info.one_shot)),
                        help="strategies, each `name` or `name:key=value;...`, separated by "
                             "spaces or commas between names; `default` runs each manifest's "
                             "own strategy and settings (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--name", help="result file stem (default: the folder's name, or "
                                       "the manifest's file name without .yaml)")
    return parser.parse_args(argv)


def split_variants(text: str) -> list[Variant]:
    """Split `a,b:x=1;y=2,c` into variants; `;` separates settings inside one variant."""
    return [Variant.parse(part.replace(";", ",")) for part in text.replace(" ", ",").split(",")
            if part]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        paths = manifests(args.manifest)
        experiments = {str(p): load_file(p) for p in paths}
        for exp in experiments.values():
            answers_for(exp)  # a table problem, said once here rather than in every worker
    except (FileNotFoundError, ManifestError) as exc:
        print(f"kubenas bench: {exc}", file=sys.stderr)
        return 2
    variants = split_variants(args.strategies)
    for v in variants:
        if v.name == DEFAULT:
            if v.settings:
                print(f"kubenas bench: {DEFAULT} runs each manifest's own strategy settings; "
                      "set them in the manifest, or name the strategy", file=sys.stderr)
                return 2
            continue  # the manifests' own settings were checked as they loaded
        errors = strategy_settings.errors(v.name, dict(v.settings))
        if errors:
            print(f"kubenas bench: {v.name}: " + "; ".join(map(str, errors)), file=sys.stderr)
            return 2
    budgets = [float(b) for b in args.budgets.split(",") if b]
    groups = [(m, v, b) for m, exp in experiments.items() for v in applicable(exp, variants)
              for b in budgets]
    tasks = [Task(m, v, b, s) for m, v, b in groups for s in range(args.seeds)]
    started = time.perf_counter()
    # Small matrices: threaded BLAS in every worker only oversubscribes the cores. Spawned
    # workers load BLAS afresh and so honour these.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    with get_context("spawn").Pool(args.workers) as pool:
        outputs = pool.map(run_task, tasks, chunksize=max(1, args.seeds // 10))
    wall = time.perf_counter() - started
    results = []
    for i, (m, v, b) in enumerate(groups):
        chunk = outputs[i * args.seeds:(i + 1) * args.seeds]
        results.append({"manifest": m, "variant": v, "budget_s": b,
                        "multi": experiments[m].objective.multi,
                        "figure": judged_figure(experiments[m]), "runs": chunk})
    name = args.name or (args.manifest.name if args.manifest.is_dir() else args.manifest.stem)
    table = write_results(results, args.out, name, seeds=args.seeds, wall_s=wall)
    print(table)
    print(f"{len(tasks)} runs in {wall:.0f}s with {args.workers} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
