"""A per-run cache of loaded datasets (KUBENAS_DATA_CACHE), to cut the fixed cost of a trial.

Every trial of a run loads the same dataset; importing scikit-learn or decoding an image
folder costs seconds each time. The first trial stores the arrays as it loaded them
(before splitting, scaling and normalisation) in one .npz named by the dataset's identity;
later trials read that file instead. Writes are atomic (a temp file, then os.replace), so
two trials filling the cache at once each leave a whole file and readers never see a torn
one. A file that cannot be read is ignored with a warning and written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

# Bump when what is stored changes, so files written by older trainers are not reused.
FORMAT = 1
_KEY = "__key__"


def _warn(message: str) -> None:
    print(f"kubenas-trainer: warning: {message}", file=sys.stderr, flush=True)


def _canonical(key: Mapping[str, Any]) -> str:
    return json.dumps({"format": FORMAT, **key}, sort_keys=True, separators=(",", ":"))


def cache_path(directory: str | Path, key: Mapping[str, Any]) -> Path:
    """The cache file of the dataset identified by `key` (its `dataset` names the file)."""
    digest = hashlib.sha256(_canonical(key).encode()).hexdigest()[:24]
    return Path(directory) / f"{key['dataset']}-{digest}.npz"


def load(directory: str | Path, key: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """The arrays stored under `key`, or None when absent, unreadable or not this key's."""
    path = cache_path(directory, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored[_KEY]) != _canonical(key):
                raise ValueError("it holds a different dataset")
            return {name: stored[name] for name in stored.files if name != _KEY}
    except Exception as exc:  # a torn, truncated or foreign file is never fatal
        _warn(f"ignoring unreadable data cache {path}: {exc}; loading the dataset again")
        return None


def store(directory: str | Path, key: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` under `key` atomically; a cache that cannot be written only warns."""
    path = cache_path(directory, key)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        payload: dict[str, Any] = {**arrays, _KEY: np.array(_canonical(key))}
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, allow_pickle=False, **payload)
        os.replace(tmp, path)
    except BaseException as exc:  # SIGTERM mid-write included: never leave the temp file
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if not isinstance(exc, OSError):
            raise
        _warn(f"cannot write data cache {path}: {exc.strerror or exc}")
