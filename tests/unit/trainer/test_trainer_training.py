"""Training in-process: accuracy, LR schedule, checkpoint resume and the result."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from kubenas_trainer import nodynamo
from kubenas_trainer.__main__ import main
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import load_dataset
from kubenas_trainer.models import build_model
from kubenas_trainer.report import MAX_BYTES, PREFIX, build_result, encode
from kubenas_trainer.train import Trainer, cosine_lr

from .conftest import DIGITS, SMALL_CNN, run_trainer, trainer_env


def _trainer(seed: int = 0) -> Trainer:
    torch.manual_seed(seed)
    config = TrainingConfig(batch_size=32, learning_rate=0.05)
    data = load_dataset(config, seed)
    model = build_model(SMALL_CNN["family"], SMALL_CNN["params"], data.in_shape,
                        data.num_classes)
    return Trainer(model, data, config, torch.device("cpu"), seed)


def _result(stdout: str) -> dict:
    last = stdout.strip().splitlines()[-1]
    assert last.startswith(PREFIX)
    return json.loads(last[len(PREFIX):])


def test_short_digits_run_reaches_sane_accuracy() -> None:
    trainer = _trainer()
    total = 3 * trainer.steps_per_epoch
    curve = [trainer.run_epoch(total).val_accuracy for _ in range(3)]
    assert curve[-1] > 0.85, curve
    assert trainer.step == total


def test_cosine_lr_decays_over_the_whole_budget() -> None:
    assert cosine_lr(0.1, 0, 100) == pytest.approx(0.1)
    assert cosine_lr(0.1, 50, 100) == pytest.approx(0.05)
    assert cosine_lr(0.1, 100, 100) == pytest.approx(0.0)
    assert cosine_lr(0.1, 150, 100) == pytest.approx(0.0)


def test_result_always_fits_a_termination_message() -> None:
    metrics = {"val_accuracy": 0.123456789, "params": 10**9}
    result = build_result(metrics, 2.5, 3, 30, None, "/c" * 1900, [0.5] * 1000)
    assert len(result["curve"]) == 50 and result["metrics"]["val_accuracy"] == 0.123457
    text = encode(result)
    assert len(text.encode()) < MAX_BYTES
    assert 0 < len(json.loads(text)["curve"]) < 50  # trimmed from the front to fit


@pytest.mark.usefixtures("clean_env")
def test_resume_trains_only_the_remaining_epochs(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_TRAINING": json.dumps(DIGITS),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    first_dir, second_dir = str(tmp_path / "b1"), str(tmp_path / "b3")
    assert main(["--budget", "1", "--checkpoint-dir", first_dir], env) == 0
    first = _result(capsys.readouterr().out)
    assert (first["epochs_trained"], first["resumed_from_epoch"]) == (1, None)

    assert main(["--budget", "3", "--resume-from", first_dir, "--checkpoint-dir", second_dir],
                env) == 0
    out = capsys.readouterr().out
    second = _result(out)
    assert second["resumed_from_epoch"] == 1 and second["epochs_trained"] == 3
    assert second["steps_trained"] == 3 * first["steps_trained"]
    assert second["curve"][0] == first["curve"][0] and len(second["curve"]) == 3
    assert "epoch 1/3" not in out and "epoch 2/3" in out and "epoch 3/3" in out
    assert json.loads((tmp_path / "log").read_text()) == second

    # A retried attempt finds its own finished checkpoint and does not train again.
    assert main(["--budget", "3", "--checkpoint-dir", second_dir], env) == 0
    out = capsys.readouterr().out
    assert re.search(r"epoch \d+/3", out) is None
    assert _result(out)["resumed_from_epoch"] == 3

    # Another architecture ignores the checkpoint with a warning and trains from scratch.
    other = {"family": "macro_cnn", "params": {"depth": 1, "width": 8, "op": ["conv3x3"]}}
    assert main(["--budget", "1", "--resume-from", first_dir, "--architecture",
                 json.dumps(other)], env) == 0
    captured = capsys.readouterr()
    assert "holds a different architecture" in captured.err
    assert _result(captured.out)["resumed_from_epoch"] is None


@pytest.mark.usefixtures("clean_env")
def test_steps_budget_and_objective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "60.5",
           "KUBENAS_RESOURCE": "steps", "KUBENAS_OBJECTIVE": "val_loss",
           "KUBENAS_TRAINING": json.dumps(DIGITS),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    assert main([], env) == 0
    result = _result(capsys.readouterr().out)
    assert result["steps_trained"] == 61 and result["epochs_trained"] == 2  # 44 + 17 steps
    assert result["budget"] == 60.5
    assert result["curve"][-1] == result["metrics"]["val_loss"]


def _strict_json(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"bare {constant} in the result")

    return json.loads(text, parse_constant=refuse)


def test_divergence_stops_at_once_with_one_line_and_no_result(tmp_path: Path) -> None:
    # SGD at lr 10 with weight decay 1 scales the weights by about -9 per step: they overflow.
    training = {**DIGITS, "learningRate": 10, "weightDecay": 1}
    done = run_trainer(trainer_env(tmp_path, KUBENAS_BUDGET="5", KUBENAS_TRAINING=training,
                                   KUBENAS_CHECKPOINT_DIR=str(tmp_path / "ckpt")))
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()  # no traceback, no warnings
    found = re.fullmatch(r"kubenas-trainer: error: training diverged at epoch 1, step (\d+) "
                         r"\(train_loss=(nan|inf)\); lower learningRate", line)
    assert found, line
    assert int(found[1]) < 1438 // 32  # within the first epoch, not at its end
    assert "epoch 1/5" not in done.stdout and PREFIX not in done.stdout
    assert not (tmp_path / "termination-log").exists()
    assert not (tmp_path / "ckpt").exists()


@pytest.mark.usefixtures("clean_env")
def test_non_finite_metrics_are_null(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(Trainer, "evaluate", lambda self: (float("nan"), 0.5))
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "2",
           "KUBENAS_OBJECTIVE": "val_loss", "KUBENAS_TRAINING": json.dumps(DIGITS),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    assert main([], env) == 0
    result = _strict_json((tmp_path / "log").read_text())
    assert _strict_json(capsys.readouterr().out.strip().splitlines()[-1][len(PREFIX):]) == result
    assert result["metrics"]["val_loss"] is None and result["metrics"]["val_accuracy"] == 0.5
    assert result["curve"] == [None, None]
    assert result["metrics"]["train_loss"] > 0


def test_the_encoder_never_writes_a_bare_nan() -> None:
    result = build_result({"val_loss": float("inf"), "params": 3}, 1, 1, 1, None, None,
                          [float("nan"), 0.5])
    assert _strict_json(encode(result)) == {**result, "metrics": {"val_loss": None, "params": 3},
                                            "curve": [None, 0.5]}
    with pytest.raises(ValueError, match="JSON compliant"):
        encode({**result, "metrics": {"val_loss": float("nan")}})


@pytest.mark.parametrize(("kind", "settings"), [
    (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}),
    (torch.optim.AdamW, {"lr": 1e-2, "weight_decay": 1e-2}),
    (torch.optim.Adam, {"lr": 3e-3, "betas": (0.5, 0.999), "weight_decay": 1e-3})])
def test_an_optimizer_without_dynamo_updates_bit_identically(
        kind: type[torch.optim.Optimizer], settings: dict[str, Any]) -> None:
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    lean = copy.deepcopy(plain)
    optimizers = [kind(plain.parameters(), **settings),
                  nodynamo.optimizer(kind, lean.parameters(), **settings)]
    data = torch.Generator().manual_seed(1)
    for _ in range(6):
        x, y = torch.randn(32, 8, generator=data), torch.randint(0, 3, (32,), generator=data)
        for model, optimizer in zip((plain, lean), optimizers, strict=True):
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), lean.parameters(),
                                                 strict=True))
    states = [o.state_dict()["state"] for o in optimizers]
    assert states[0].keys() == states[1].keys()
    for key, state in states[0].items():
        assert all(torch.equal(v, states[1][key][k]) if torch.is_tensor(v) else
                   v == states[1][key][k] for k, v in state.items())
