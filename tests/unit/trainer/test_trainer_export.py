"""The exported ONNX model takes raw images and gives the trial's accuracy, without this package
or torch; the int8 copy and the model card sit beside it."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from kubenas_trainer.__main__ import main
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import _split, load_dataset
from kubenas_trainer.export import ExportError, check_agreement, export_onnx, raw_images
from kubenas_trainer.models import build_model

from .conftest import DIGITS, SMALL_CNN, run_trainer, trainer_env

# Runs with a bare PYTHONPATH: only onnxruntime and scikit-learn, never kubenas_trainer or
# torch. Then runs the example of docs/trial-contract.md (in the folder holding best-model/).
CLASSIFY_RAW_DIGITS = """
import contextlib, io, json, sys
import numpy as np, onnxruntime as ort
from sklearn.datasets import load_digits
model_dir, indices, example = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
card = json.load(open(f"{model_dir}/model-card.json"))
digits = load_digits()
x = digits.images[indices][:, None].astype(np.float32)  # raw 0..16
accuracy = {}
for entry in card["models"]:
    session = ort.InferenceSession(f"{model_dir}/{entry['file']}")
    predicted = session.run(None, {card["input"]["name"]: x})[0].argmax(1)
    labels = [card["classes"][i] for i in predicted]
    accuracy[entry["file"]] = np.mean([l == str(t) for l, t in zip(labels, digits.target[indices])])
shown = io.StringIO()
with contextlib.redirect_stdout(shown):
    exec(example, {})
print(json.dumps({"accuracy": accuracy, "example": shown.getvalue(),
                  "imported": sorted(m for m in ("kubenas_trainer", "torch") if m in sys.modules)}))
"""


def _strict(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"bare {constant} in the card")

    return dict(json.loads(text, parse_constant=refuse))


def test_exported_models_classify_raw_digits_at_the_trials_accuracy(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    export, split_seed, fraction = tmp_path / "best-model", 5, 0.25
    training = {"dataset": "digits", "batchSize": 32, "validationFraction": fraction}
    found_by = {"experiment": "quickstart", "strategy": "random", "trial": "quickstart-7",
                "budget": 3, "seed": 11}
    done = run_trainer(trainer_env(tmp_path, KUBENAS_BUDGET="3", KUBENAS_EXPORT_DIR=str(export),
                                   KUBENAS_SPLIT_SEED=str(split_seed), KUBENAS_TRAINING=training,
                                   KUBENAS_EXPORT={"quantize": "int8", "foundBy": found_by}))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no exporter or quantiser notices in the trial log
    assert {p.name for p in export.iterdir()} == {"model.onnx", "model.int8.onnx",
                                                  "model-card.json", "MODEL_CARD.md"}
    result = json.loads((tmp_path / "termination-log").read_text())
    reported = result["metrics"]["val_accuracy"]
    assert reported > 0.85

    _, val = _split(load_digits().target, fraction, split_seed)
    doc = (Path(__file__).resolve().parents[3] / "docs" / "trial-contract.md").read_text()
    example = doc.split("Classifying one raw digits image:\n\n```python\n")[1].split("```")[0]
    assert len(example.strip().splitlines()) == 3
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    classified = subprocess.run(
        [sys.executable, "-c", CLASSIFY_RAW_DIGITS, str(export), json.dumps(val.tolist()),
         example], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        check=False)
    assert classified.returncode == 0, classified.stderr
    seen = json.loads(classified.stdout)
    assert seen["accuracy"]["model.onnx"] == pytest.approx(reported, abs=0.002)  # 0.2 points
    assert seen["accuracy"]["model.int8.onnx"] > reported - 0.05
    assert seen["example"] == "[0]\n"  # the doc's example reads the first digit, a 0
    assert seen["imported"] == []

    card = _strict((export / "model-card.json").read_text())
    assert card["architecture"] == SMALL_CNN and card["found_by"] == found_by
    assert card["metrics"] == result["metrics"] and card["params"] == result["metrics"]["params"]
    assert card["latency"] == {"latency_ms": result["metrics"]["latency_ms"],
                               "protocol": result["latency"]}
    float_model, int8_model = card["models"]
    for entry in card["models"]:
        assert entry["size_kib"] == round((export / entry["file"]).stat().st_size / 1024, 1)
        assert entry["val_accuracy"] == pytest.approx(seen["accuracy"][entry["file"]], abs=1e-6)
        assert math.isfinite(entry["latency_ms"]) and entry["latency_ms"] > 0
    assert (float_model["precision"], int8_model["precision"]) == ("float32", "int8")
    assert int8_model["quantization"]["format"] == "QDQ"
    assert int8_model["quantization"]["calibration_images"] == 300
    assert card["model_latency_protocol"]["runtime"] == "onnxruntime"
    assert card["input"] | {"mean": None, "std": None} == {
        "name": "images", "dtype": "float32", "shape": ["N", 1, 8, 8], "layout": "NCHW",
        "range": [0, 16], "scale": 1 / 16, "mean": None, "std": None,
        "preprocessing": "built in: the model computes (x * scale - mean) / std per channel"}
    assert len(card["input"]["mean"]) == len(card["input"]["std"]) == 1
    assert card["classes"] == [str(i) for i in range(10)]
    assert card["output"] == {"name": "logits", "kind": "logits", "shape": ["N", 10]}
    assert card["training"]["epochs_trained"] == 3 and card["training"]["split_seed"] == 5
    text = (export / "MODEL_CARD.md").read_text()
    assert "| `model.int8.onnx` | int8 |" in text and '"experiment": "quickstart"' in text


def _npz(path: Path, dtype: type) -> tuple[np.ndarray, TrainingConfig]:
    """An npz with an explicit validation split, so the raw validation images are known."""
    rng = np.random.default_rng(0)
    x = (rng.random((50, 8, 8, 3)) * 255).astype(dtype)  # channels-last on disk
    np.savez(path, x_train=x[:40], y_train=np.arange(40) % 3, x_val=x[40:], y_val=np.arange(10) % 3)
    return x[40:].transpose(0, 3, 1, 2), TrainingConfig(dataset="npz", path=str(path))


@pytest.mark.parametrize("source", ["digits", np.uint8, np.float32],
                         ids=["digits", "uint8", "float"])
def test_the_export_applies_the_loaders_preprocessing(tmp_path: Path, source: object) -> None:
    import onnxruntime as ort

    if source == "digits":
        from sklearn.datasets import load_digits

        config = TrainingConfig()
        _, val = _split(load_digits().target, config.validation_fraction, 0)
        raw_val = load_digits().images[val][:, None]
    else:
        raw_val, config = _npz(tmp_path / "d.npz", source)  # type: ignore[arg-type]
    data = load_dataset(config, 0)
    np.testing.assert_allclose(raw_images(data, data.x_val), raw_val, rtol=1e-5, atol=1e-4)
    torch.manual_seed(0)
    model = build_model("macro_cnn", {"depth": 2, "width": 4, "op": ["conv3x3", "skip"]},
                        data.in_shape, data.num_classes).eval()
    path, _ = export_onnx(model, data, str(tmp_path / "out"))
    session = ort.InferenceSession(str(path))
    with torch.no_grad():
        expected = model(data.x_val).numpy()
    for batch in (raw_val, raw_val[:1]):  # the batch dimension is dynamic
        actual = session.run(None, {"images": batch.astype(np.float32)})[0]
        np.testing.assert_allclose(actual, expected[:len(batch)], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("change,message", [
    (lambda x: x + 1.0, r"logits differ by up to 1 \(allowed"),
    (lambda x: x[:, :3], r"returns logits of shape \[4, 3\], PyTorch \[4, 4\]"),
    (lambda x: x * np.nan, r"logits differ by up to nan"),
])
def test_an_export_that_disagrees_is_an_error(change: object, message: str) -> None:
    expected = np.eye(4, dtype=np.float32)
    check_agreement(expected, expected + 1e-6, np.arange(4))
    with pytest.raises(ExportError, match=message):
        check_agreement(expected, change(expected), np.arange(4))  # type: ignore[operator]


def test_an_export_that_keeps_logits_but_not_accuracy_is_an_error() -> None:
    expected = np.array([[1.0, 0.9995], [0.0, 1.0]], np.float32)
    actual = np.array([[0.9995, 1.0], [0.0, 1.0]], np.float32)  # within the logit tolerance
    with pytest.raises(ExportError, match=r"accuracy 50.00% differs from PyTorch's 100.00% by "
                                          r"50.00 points \(allowed 0.2\)"):
        check_agreement(expected, actual, np.array([0, 1]))


@pytest.mark.usefixtures("clean_env")
def test_a_failed_export_fails_the_trial_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def disagree(*args: object) -> None:
        raise ExportError("the ONNX model disagrees with PyTorch on the validation images")

    monkeypatch.setattr("kubenas_trainer.__main__.export_onnx", disagree)
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "1",
           "KUBENAS_TRAINING": json.dumps(DIGITS), "KUBENAS_EXPORT_DIR": str(tmp_path / "m"),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    assert main([], env) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1] == (
        "kubenas-trainer: error: the ONNX model disagrees with PyTorch on the validation images")
    assert "KUBENAS_RESULT" not in captured.out and not (tmp_path / "log").exists()


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("variable", ["KUBENAS_CHECKPOINT_DIR", "KUBENAS_RESUME_FROM"])
def test_a_finished_checkpoint_exports_without_training(
        tmp_path: Path, variable: str, capsys: pytest.CaptureFixture[str]) -> None:
    """How the local runner exports the best trial after a search: the same trial again."""
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "2",
           "KUBENAS_TRAINING": json.dumps(DIGITS), "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    checkpoint = str(tmp_path / "trial")
    assert main([], {**env, "KUBENAS_CHECKPOINT_DIR": checkpoint}) == 0
    trained = json.loads((tmp_path / "log").read_text())
    capsys.readouterr()

    export = tmp_path / "best-model"
    assert main([], {**env, variable: checkpoint, "KUBENAS_EXPORT_DIR": str(export),
                     "KUBENAS_EXPORT": json.dumps({"foundBy": {"trial": "q-3"}})}) == 0
    out = capsys.readouterr().out
    assert re.search(r"epoch \d+/2", out) is None  # zero epochs trained
    result = json.loads((tmp_path / "log").read_text())
    assert (result["resumed_from_epoch"], result["epochs_trained"]) == (2, 2)
    assert result["curve"] == trained["curve"]
    card = json.loads((export / "model-card.json").read_text())
    assert {p.name for p in export.iterdir()} == {"model.onnx", "model-card.json",
                                                  "MODEL_CARD.md"}
    assert card["found_by"] == {"trial": "q-3"}
    assert card["metrics"]["val_accuracy"] == trained["metrics"]["val_accuracy"]
    assert card["models"][0]["val_accuracy"] == pytest.approx(
        trained["metrics"]["val_accuracy"], abs=0.002)
