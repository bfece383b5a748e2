"""Small synthetic tabular benchmarks written to a temporary folder (no shared data needed)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import yaml

NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
NB201_FORMAT = ("|{edges[0]}~0|+|{edges[1]}~0|{edges[2]}~1|+|{edges[3]}~0|{edges[4]}~1|"
                "{edges[5]}~2|")


def _manifest(name: str, space: dict, key_format: str, *, duration: float, strategy: str,
              multi: bool = False, levels: tuple[int, int] = (1, 10)) -> dict:
    objective: dict = {"metric": "score", "direction": "maximize"}
    if multi:
        objective["additional"] = [{"metric": "latency", "direction": "minimize"}]
    return {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": name},
        "spec": {
            "objective": objective,
            "searchSpace": space,
            "strategy": {"name": strategy},
            "budget": {"maxTrials": 100000, "maxParallelTrials": 1, "maxDuration": int(duration)},
            "fidelity": {"levels": list(levels)},
            "tabular": {
                "table": "table.csv",
                "key": {"column": "key", "format": key_format},
                "fidelities": [
                    {"level": levels[0], "metrics": {"score": "low"}, "costColumn": "cost",
                     "costScale": 0.1},
                    {"level": levels[1], "metrics": {"score": "high"}, "costColumn": "cost"},
                ],
                "staticMetrics": {"latency": "latency"},
                "reportMetrics": {"test": "test"},
                "judge": {"score": "test"},
            },
        },
    }


def write(folder: Path, rows: list[tuple[str, list[float]]], manifests: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["key,low,high,test,cost,latency"]
    lines += [",".join([k, *(f"{x:.6f}" for x in vals)]) for k, vals in rows]
    (folder / "table.csv").write_text("\n".join(lines) + "\n")
    for name, manifest in manifests.items():
        (folder / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder


def _values(rng: np.random.Generator, quality: float) -> list[float]:
    high = 70 + 20 * quality + rng.normal(0, 0.3)
    return [high - 8 + rng.normal(0, 1.0), high, high + rng.normal(0, 0.3),
            50 + 100 * rng.random(), 1 + 10 * quality + rng.random()]


def small(folder: Path, *, duration: float = 400.0, strategy: str = "random") -> Path:
    """3 params (choice, int, choice): 3 * 4 * 2 = 24 architectures, a smooth objective."""
    rng = np.random.default_rng(7)
    space = {"family": "toy", "parameters": [
        {"name": "a", "choice": ["x", "y", "z"]},
        {"name": "b", "int": {"min": 1, "max": 4}},
        {"name": "c", "choice": ["p", "q"]},
    ]}
    rows = []
    for a, b, c in itertools.product(range(3), range(1, 5), range(2)):
        quality = (a / 2 + (b - 1) / 3 + c) / 3
        rows.append((f"{'xyz'[a]}-{b}-{'pq'[c]}", _values(rng, quality)))
    return write(folder, rows, {
        "single.yaml": _manifest("toy", space, "{a}-{b}-{c}", duration=duration,
                                 strategy=strategy),
        "multi.yaml": _manifest("toy-mo", space, "{a}-{b}-{c}", duration=duration,
                                strategy="nsga2", multi=True),
    })


def cell(folder: Path, *, duration: float = 3000.0, strategy: str = "random") -> Path:
    """The NB201 cell space (15,625 encodings) with a synthetic random objective."""
    rng = np.random.default_rng(11)
    weights = rng.normal(0, 1, (6, 5))
    rows = []
    for ops in itertools.product(range(5), repeat=6):
        quality = 1 / (1 + np.exp(-sum(weights[i, o] for i, o in enumerate(ops)) / 2))
        edges = [NB201_OPS[o] for o in ops]
        rows.append((NB201_FORMAT.format(edges=edges), _values(rng, float(quality))))
    space = {"family": "nb201", "parameters": [
        {"name": "edges", "choice": NB201_OPS, "repeat": 6}],
        "cell": {"parameter": "edges", "nodes": 4, "zeroOp": "none",
                 "identityOp": "skip_connect"}}
    return write(folder, rows, {
        "single.yaml": _manifest("cell", space, NB201_FORMAT, duration=duration,
                                 strategy=strategy),
        "multi.yaml": _manifest("cell-mo", space, NB201_FORMAT, duration=duration,
                                strategy="nsga2", multi=True),
    })
