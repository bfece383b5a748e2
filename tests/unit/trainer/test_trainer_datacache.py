"""KUBENAS_DATA_CACHE: later trials read the dataset from the run's cache, never a torn file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from kubenas_trainer import datacache
from kubenas_trainer.__main__ import main
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import Dataset, load_dataset

from .conftest import SMALL_CNN, TRAINER_ROOT
from .test_trainer_data import _write_pngs

# Loads digits and an image folder through the cache, then reports what was imported.
WARM_LOAD = """
import json, sys
import numpy as np
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import load_dataset
cache, folder, out = sys.argv[1:]
digits = load_dataset(TrainingConfig(), 0, cache)
images = load_dataset(TrainingConfig(dataset="folder", path=folder), 0, cache)
np.savez(out, **{f"{name}_{part}": getattr(data, part).numpy()
                 for name, data in (("digits", digits), ("folder", images))
                 for part in ("x_train", "y_train", "x_val", "y_val")})
heavy = ("sklearn", "scipy", "mlxtend", "PIL", "matplotlib")
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
"""


def _assert_same(a: Dataset, b: Dataset) -> None:
    for part in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(a, part), getattr(b, part)), part
    assert (a.classes, a.mean, a.std, a.scale) == (b.classes, b.mean, b.std, b.scale)


def _cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_a_warm_cache_skips_sklearn_and_image_decoding(tmp_path: Path) -> None:
    cache, folder = tmp_path / "cache", tmp_path / "images"
    folder.mkdir()
    _write_pngs(folder)
    folder_config = TrainingConfig(dataset="folder", path=str(folder))
    digits = load_dataset(TrainingConfig(), 0)
    images = load_dataset(folder_config, 0)
    # The first (cold) loads fill the cache and give the same data as uncached loads.
    _assert_same(load_dataset(TrainingConfig(), 0, str(cache)), digits)
    _assert_same(load_dataset(folder_config, 0, str(cache)), images)
    assert len(_cache_files(cache)) == 2

    out = tmp_path / "warm.npz"
    env = {**os.environ, "PYTHONPATH": str(TRAINER_ROOT)}
    done = subprocess.run([sys.executable, "-c", WARM_LOAD, str(cache), str(folder), str(out)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], "a warm load imported a dataset library"
    assert "warning" not in done.stderr
    with np.load(out) as warm:
        for name, data in (("digits", digits), ("folder", images)):
            for part in ("x_train", "y_train", "x_val", "y_val"):
                np.testing.assert_array_equal(warm[f"{name}_{part}"], getattr(data, part).numpy())


def test_a_corrupt_cache_file_is_ignored_with_a_warning_and_rewritten(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = TrainingConfig(dataset="synthetic", samples=60, image_size=6)
    reference = load_dataset(config, 0, str(tmp_path))
    (path,) = tmp_path.iterdir()
    path.write_bytes(path.read_bytes()[:100])  # a torn file
    _assert_same(load_dataset(config, 0, str(tmp_path)), reference)
    assert f"warning: ignoring unreadable data cache {path}" in capsys.readouterr().err
    _assert_same(load_dataset(config, 0, str(tmp_path)), reference)
    assert capsys.readouterr().err == ""  # rewritten whole


def test_the_cache_key_is_the_dataset_identity(tmp_path: Path) -> None:
    cache, source = tmp_path / "cache", tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(source, x=rng.random((40, 1, 4, 4)), y=np.arange(40) % 2)
    config = TrainingConfig(dataset="npz", path=str(source))
    first = load_dataset(config, 0, str(cache))
    np.savez(source, x=rng.random((40, 1, 4, 4)), y=np.arange(40) % 2)  # same size, new data
    os.utime(source, ns=(0, 0))
    second = load_dataset(config, 0, str(cache))
    assert not torch.equal(first.x_train, second.x_train)
    _assert_same(second, load_dataset(config, 0))
    assert len(_cache_files(cache)) == 2
    for samples in (60, 80):  # the synthetic task's settings are part of its identity
        data = load_dataset(TrainingConfig(dataset="synthetic", samples=samples), 0, str(cache))
        assert len(data.x_train) + len(data.x_val) == samples
    assert len(_cache_files(cache)) == 4


def test_concurrent_writers_leave_one_whole_file(tmp_path: Path) -> None:
    key = {"dataset": "synthetic", "samples": 1}
    arrays = {"x": np.arange(200_000, dtype=np.float32), "y": np.arange(4)}
    writers = [threading.Thread(target=datacache.store, args=(tmp_path, key, arrays))
               for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    loaded = datacache.load(tmp_path, key)
    assert loaded is not None and loaded.keys() == arrays.keys()
    np.testing.assert_array_equal(loaded["x"], arrays["x"])
    assert _cache_files(tmp_path) == [datacache.cache_path(tmp_path, key).name]  # no temp files


def test_an_unusable_cache_only_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = TrainingConfig(dataset="synthetic", samples=40, image_size=4)
    _assert_same(load_dataset(config, 0, str(blocker / "cache")), load_dataset(config, 0))
    assert "warning: cannot write data cache" in capsys.readouterr().err


@pytest.mark.usefixtures("clean_env")
def test_trials_share_the_cache_given_by_the_contract(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "1",
           "KUBENAS_TRAINING": json.dumps({"dataset": "synthetic", "samples": 100,
                                           "imageSize": 8}),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    assert main(["--data-cache", str(cache)], env) == 0
    (path,) = cache.iterdir()
    assert path.name.startswith("synthetic-") and path.suffix == ".npz"
    assert main([], {**env, "KUBENAS_DATA_CACHE": str(cache)}) == 0
    assert list(cache.iterdir()) == [path]
