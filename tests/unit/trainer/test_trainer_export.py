"""The exported model takes raw images and gives the trial's accuracy, without this package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import _split, load_dataset
from kubenas_trainer.export import export_model
from kubenas_trainer.models import build_model

from .conftest import SMALL_CNN, run_trainer, trainer_env

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

# Runs with a bare PYTHONPATH: only torch and scikit-learn, never kubenas_trainer.
# Then runs the example of docs/trial-contract.md (in the folder holding best-model/).
CLASSIFY_RAW_DIGITS = """
import contextlib, io, json, sys
import numpy as np, torch
from sklearn.datasets import load_digits
model_dir, indices, example = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
model = torch.jit.load(f"{model_dir}/model.pt")
meta = json.load(open(f"{model_dir}/architecture.json"))
digits = load_digits()
x = torch.from_numpy(digits.images[indices][:, None].astype(np.float32))  # raw 0..16
with torch.no_grad():
    predicted = model(x).argmax(1).numpy()
labels = [meta["classes"][i] for i in predicted]
accuracy = np.mean([label == str(t) for label, t in zip(labels, digits.target[indices])])
shown = io.StringIO()
with contextlib.redirect_stdout(shown):
    exec(example, {})
print(json.dumps({"accuracy": accuracy, "example": shown.getvalue(),
                  "trainer_imported": "kubenas_trainer" in sys.modules}))
"""


def test_exported_model_classifies_raw_digits_at_the_trials_accuracy(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    export, split_seed, fraction = tmp_path / "best-model", 5, 0.25
    training = {"dataset": "digits", "batchSize": 32, "validationFraction": fraction}
    done = run_trainer(trainer_env(tmp_path, KUBENAS_BUDGET="3", KUBENAS_EXPORT_DIR=str(export),
                                   KUBENAS_SPLIT_SEED=str(split_seed),
                                   KUBENAS_TRAINING=training))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings (torch.jit's included) in the trial log
    assert {p.name for p in export.iterdir()} == {"model.pt", "architecture.json"}
    reported = json.loads((tmp_path / "termination-log").read_text())["metrics"]["val_accuracy"]
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
    assert seen["accuracy"] == pytest.approx(reported, abs=0.005)
    assert seen["example"] == "tensor([0])\n"  # the doc's example reads the first digit, a 0
    assert not seen["trainer_imported"]

    meta = json.loads((export / "architecture.json").read_text())
    assert meta["architecture"] == SMALL_CNN
    assert meta["input"] | {"mean": None, "std": None} == {
        "dtype": "float32", "shape": ["N", 1, 8, 8], "layout": "NCHW", "range": [0, 16],
        "scale": 1 / 16, "mean": None, "std": None,
        "preprocessing": "built in: the model computes (x * scale - mean) / std per channel"}
    assert len(meta["input"]["mean"]) == len(meta["input"]["std"]) == 1
    assert meta["classes"] == [str(i) for i in range(10)]
    assert meta["output"] == {"kind": "logits", "shape": ["N", 10]}



def _npz(path: Path, dtype: type) -> tuple[np.ndarray, TrainingConfig]:
    """An npz with an explicit validation split, so the raw validation images are known."""
    rng = np.random.default_rng(0)
    x = (rng.random((50, 8, 8, 3)) * 255).astype(dtype)  # channels-last on disk
    np.savez(path, x_train=x[:40], y_train=np.arange(40) % 3, x_val=x[40:], y_val=np.arange(10) % 3)
    return x[40:].transpose(0, 3, 1, 2), TrainingConfig(dataset="npz", path=str(path))


@pytest.mark.parametrize("source,scale,value_range", [
    ("digits", 1 / 16, [0, 16]), (np.uint8, 1 / 255, [0, 255]), (np.float32, 1.0, None),
], ids=["digits", "uint8", "float"])
def test_the_export_applies_the_loaders_preprocessing(
        tmp_path: Path, source: object, scale: float, value_range: list[int] | None) -> None:
    if source == "digits":
        from sklearn.datasets import load_digits

        config = TrainingConfig()
        _, val = _split(load_digits().target, config.validation_fraction, 0)
        raw_val = load_digits().images[val][:, None]
    else:
        raw_val, config = _npz(tmp_path / "d.npz", source)  # type: ignore[arg-type]
    data = load_dataset(config, 0)
    torch.manual_seed(0)
    model = build_model("macro_cnn", {"depth": 2, "width": 4, "op": ["conv3x3", "skip"]},
                        data.in_shape, data.num_classes).eval()
    export_model(model, data, SMALL_CNN, str(tmp_path / "out"))
    loaded = torch.jit.load(str(tmp_path / "out" / "model.pt"))
    with torch.no_grad():
        expected = model(data.x_val)
        actual = loaded(torch.from_numpy(raw_val.astype(np.float32)))
        batch_of_one = loaded(torch.from_numpy(raw_val[:1].astype(np.float32)))
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(batch_of_one, expected[:1], rtol=1e-5, atol=1e-5)
    meta = json.loads((tmp_path / "out" / "architecture.json").read_text())
    assert meta["input"]["scale"] == pytest.approx(scale)
    assert meta["input"]["range"] == value_range
    assert meta["input"]["mean"] == data.mean and meta["input"]["std"] == data.std
