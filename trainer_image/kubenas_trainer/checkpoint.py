"""Save and find trial checkpoints, so a trial can resume an earlier trial's training.

A checkpoint is one `checkpoint.pt` per directory, written atomically (temp file then
rename) so a trial killed mid-write never leaves a torn file for the next one. It holds
only tensors and plain values, so it loads with `weights_only=True`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

FILENAME = "checkpoint.pt"


def architecture_key(architecture: dict[str, Any]) -> str:
    """A canonical string for comparing architectures across trials."""
    return json.dumps(architecture, sort_keys=True, separators=(",", ":"))


def save(directory: str, state: dict[str, Any]) -> None:
    """Write `state` to directory/checkpoint.pt atomically."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path, prefix=f".{FILENAME}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path / FILENAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_trial(directory: str, state: dict[str, Any], architecture: dict[str, Any],
               in_shape: tuple[int, int, int], num_classes: int,
               history: list[dict[str, float]]) -> None:
    """Save a trial's training state with what load_matching checks it against."""
    save(directory, {**state, "architecture": architecture, "in_shape": list(in_shape),
                     "num_classes": num_classes, "history": history})


def load_furthest(directories: Sequence[str | None], architecture: dict[str, Any],
                  in_shape: tuple[int, int, int], num_classes: int) -> dict[str, Any] | None:
    """The matching checkpoint that trained furthest among `directories` (a trial's own, a
    retried attempt's, and the one it resumes from); None when none matches."""
    found = [state for directory in directories if directory
             if (state := load_matching(directory, architecture, in_shape, num_classes))]
    return max(found, key=lambda s: int(s["step"])) if found else None


def load_matching(directory: str, architecture: dict[str, Any],
                  in_shape: tuple[int, int, int], num_classes: int) -> dict[str, Any] | None:
    """Return the checkpoint in `directory` if it is of this architecture and data shape.

    A missing checkpoint is normal (first attempt); an unreadable or mismatched one is
    ignored with a warning so that a bad resume hint never fails a trial.
    """
    path = Path(directory) / FILENAME
    if not path.is_file():
        return None
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        _warn(f"ignoring unreadable checkpoint {path}: {exc}")
        return None
    if architecture_key(state.get("architecture", {})) != architecture_key(architecture):
        _warn(f"ignoring checkpoint {path}: it holds a different architecture")
        return None
    if tuple(state.get("in_shape", ())) != in_shape or state.get("num_classes") != num_classes:
        _warn(f"ignoring checkpoint {path}: it was trained on differently shaped data")
        return None
    return state


def _warn(message: str) -> None:
    print(f"kubenas-trainer: warning: {message}", file=sys.stderr)
