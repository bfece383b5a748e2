"""One-shot searches on digits: each method's derivation is deterministic for a seed, and a
search evicted after an epoch and resumed derives what an uninterrupted one derives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubenas_trainer import __main__ as entry
from kubenas_trainer.__main__ import Terminated, main
from kubenas_trainer.metrics_server import TrialMetrics
from kubenas_trainer.supernet import run

from .supernets import check_shape, result_of, same_search, search_env


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("method", ["darts", "drnas", "spos"])
def test_search_is_deterministic_and_a_resumed_one_derives_the_same(
        method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[TrialMetrics] = []

    class Recording(TrialMetrics):
        def __init__(self) -> None:
            super().__init__()
            served.append(self)

    monkeypatch.setattr(entry, "TrialMetrics", Recording)
    export = tmp_path / "export"
    env = search_env(tmp_path, method, KUBENAS_SEED="7", KUBENAS_EXPORT_DIR=str(export))
    assert main([], env) == 0
    straight, err = result_of(capsys)
    check_shape(straight, method, 4)
    assert "KUBENAS_EXPORT_DIR is ignored by a one-shot search" in err and not export.exists()
    registry = served[-1].registry
    assert registry.get_sample_value("kubenas_trial_epoch") == 2
    assert registry.get_sample_value("kubenas_trial_metric", {"metric": "val_accuracy"}) == \
        pytest.approx(straight["metrics"]["val_accuracy"], rel=1e-5)

    assert main([], env) == 0
    same_search(result_of(capsys)[0], straight)

    # An eviction after the first epoch's checkpoint, then the retried attempt.
    save = run.checkpoint.save

    def save_then_die(directory: str, state: dict[str, Any]) -> None:
        save(directory, state)
        raise Terminated

    ckpt = str(tmp_path / "ckpt")
    monkeypatch.setattr(run.checkpoint, "save", save_then_die)
    assert main(["--checkpoint-dir", ckpt], env) == 143
    capsys.readouterr()
    monkeypatch.setattr(run.checkpoint, "save", save)
    assert main(["--checkpoint-dir", ckpt], env) == 0
    resumed, _ = result_of(capsys)
    assert resumed["resumed_from_epoch"] == 1 and resumed["checkpoint"] == ckpt
    same_search(resumed, straight)

    if method == "darts":  # another search ignores the checkpoint and starts from scratch
        assert main(["--checkpoint-dir", ckpt, "--budget", "1"], search_env(tmp_path, "spos")) == 0
        result, err = result_of(capsys)
        assert result["resumed_from_epoch"] is None and "holds a different architecture" in err
