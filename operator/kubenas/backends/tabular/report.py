"""Benchmark result files: rows as JSON, a markdown table, and a best-so-far plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kubenas.backends.runs.results import write_json


def rows(results: list[dict[str, Any]], seeds: int) -> list[dict[str, Any]]:
    out = []
    for r in results:
        values = np.array([run["value"] for run in r["runs"]], dtype=np.float64)
        figure = r["figure"]
        row: dict[str, Any] = {"strategy": r["variant"].label, "budget_s": r["budget_s"],
                               "seeds": seeds, "figure": figure,
                               f"mean_{figure}": _figure(float(np.nanmean(values))),
                               f"std_{figure}": _figure(float(np.nanstd(values)))}
        if r["variant"].settings:
            row["settings"] = dict(r["variant"].settings)
        row["manifest"] = Path(r["manifest"]).name
        out.append(row)
    return out


def _figure(value: float) -> float | None:
    """Rounded, or None when no seed gave a value (JSON has no NaN)."""
    return round(float(value), 4) if np.isfinite(value) else None


def markdown(table: list[dict[str, Any]], wall_s: float) -> str:
    lines = ["| manifest | strategy | settings | budget (s) | seeds | mean | std | figure |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in table:
        figure = r["figure"]
        settings = ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items())
        lines.append(f"| {r['manifest']} | {r['strategy']} | {settings} | {r['budget_s']:.0f} "
                     f"| {r['seeds']} | {_shown(r[f'mean_{figure}'])} | "
                     f"{_shown(r[f'std_{figure}'])} | {figure} |")
    lines.append("")
    lines.append(f"Wall time: {wall_s:.0f} s.")
    return "\n".join(lines)


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Mean judged figure of the best so far against simulated time, largest budget only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    single = [r for r in results if not r["multi"]]
    if not single:
        return
    budget = max(r["budget_s"] for r in single)
    fig, ax = plt.subplots(figsize=(8, 5))
    settled = []
    for r in single:
        if r["budget_s"] != budget:
            continue
        curves = np.array([run["curve"] for run in r["runs"]], dtype=np.float64)
        times = np.linspace(0.0, budget, curves.shape[1])
        counted = np.isfinite(curves).sum(axis=0)
        mean = np.where(counted > 0, np.nansum(curves, axis=0) / np.maximum(counted, 1), np.nan)
        ax.plot(times, mean, label=r["variant"].label)
        settled.append(mean[times >= budget / 4])
    low = float(np.nanmin(np.concatenate(settled))) if settled else np.nan
    if np.isfinite(low):  # the early climb would squash the differences that matter
        ax.set_ylim(bottom=low - 0.05 * abs(ax.get_ylim()[1] - low))
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("mean judged figure of the best so far")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(results: list[dict[str, Any]], out: Path, name: str, *, seeds: int,
                  wall_s: float) -> str:
    out.mkdir(parents=True, exist_ok=True)
    table = rows(results, seeds)
    write_json(out / f"{name}.json", table)
    text = markdown(table, wall_s)
    (out / f"{name}.md").write_text(text + "\n")
    plot(results, out / f"{name}.png")
    return text
