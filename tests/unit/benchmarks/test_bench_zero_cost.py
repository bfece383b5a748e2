"""benchmarks/zero_cost.py's pure parts: the cells it draws and the results file's shape."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from kubenas_trainer.catalog import ZERO_COST_PROXIES

sys.path.insert(0, str(Path(__file__).parents[3] / "benchmarks"))
import zero_cost


def test_cells_are_distinct_seeded_nb201_cells() -> None:
    cells = zero_cost.sample_cells(200, 0)
    assert len({tuple(c) for c in cells}) == 200 and all(len(c) == 6 for c in cells)
    assert {op for c in cells for op in c} == set(zero_cost.OPS)
    assert zero_cost.sample_cells(200, 0) == cells and zero_cost.sample_cells(200, 1) != cells


def test_a_null_proxy_ranks_lowest_in_the_correlation() -> None:
    cells = [{"val_accuracy": acc, "proxies": dict.fromkeys(ZERO_COST_PROXIES, value)}
             for acc, value in [(0.1, None), (0.5, 2.0), (0.9, 3.0)]]
    seconds = [dict.fromkeys(ZERO_COST_PROXIES, 0.01)] * 3
    rows = zero_cost.correlations(cells, seconds)
    assert [row["name"] for row in rows] == list(ZERO_COST_PROXIES)
    assert all(row["spearman"] == pytest.approx(1.0) and row["nulls"] == 1 for row in rows)


def test_the_results_file_on_three_cells(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--out", str(tmp_path), "--cells", "3", "--dataset", "digits", "--channels", "2",
            "--workers", "1", "--bulk-sample", "0"]
    assert zero_cost.main(argv) == 0
    result = json.loads((tmp_path / "zero-cost.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"bare {c}"))
    protocol = result["protocol"]
    assert (protocol["dataset"], protocol["steps"], protocol["channels"]) == ("digits", 64, 2)
    assert protocol["cells"] == 3 and protocol["seed"] == 0 and protocol["net"] == "nb201"
    assert [p["name"] for p in result["proxies"]] == list(ZERO_COST_PROXIES)
    assert all(set(p) == {"name", "spearman", "nulls", "seconds_per_arch"}
               and p["seconds_per_arch"] > 0 for p in result["proxies"])
    assert [c["edges"] for c in result["cells"]] == zero_cost.sample_cells(3, 0)
    for cell in result["cells"]:
        assert set(cell) == {"edges", "val_accuracy", "train_seconds", "proxies"}
        assert 0 <= cell["val_accuracy"] <= 1 and set(cell["proxies"]) == set(ZERO_COST_PROXIES)
    assert "synflow" in capsys.readouterr().out
