"""Run folders as dashboard snapshots: `experiment.json`, `result.json`, `trials.jsonl`.

`--runs` names one run folder or a folder of them. Files are read on every request (they
are small and written atomically), and a parsed spec is cached by its text, since
validating one is the slow part.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kubenas.api.parse import ManifestError, parse
from kubenas.api.trials import Trial
from kubenas.api.types import Experiment
from kubenas.backends.local.runner import RUN_LOCK
from kubenas.backends.runs.history import HISTORY, from_record
from kubenas.backends.runs.manifest import MANIFEST
from kubenas.dashboard.views import NotFound, ReadError, Snapshot

RESULT = "result.json"
MARKERS = (MANIFEST, RESULT, HISTORY)


class LocalRuns:
    mode = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[str, Experiment | str] = {}
        self._snapshots: dict[str, Snapshot] = {}

    def describe(self) -> str:
        return str(self.root)

    def folders(self) -> dict[str, Path]:
        """Run folders by id: the root itself, or its subfolders that hold a run."""
        if not self.root.is_dir():
            raise ReadError(f"{self.root}: no such folder")
        if _is_run(self.root):
            return {self.root.resolve().name: self.root}
        return {p.name: p for p in sorted(self.root.iterdir()) if p.is_dir() and _is_run(p)}

    def check(self) -> None:
        """Fail early, with the first unreadable file, before serving anything."""
        found = self.folders()
        if not found:
            raise ReadError(f"{self.root}: no run folders here (a run folder holds "
                            f"{', '.join(MARKERS)})")
        for run_id in found:
            self.snapshot(run_id)

    def snapshots(self) -> list[Snapshot]:
        return [self.snapshot(run_id) for run_id in self.folders()]

    def snapshot(self, run_id: str) -> Snapshot:
        """The folder as it is now; read again only when one of its files changed."""
        folder = self.folders().get(run_id)
        if folder is None:
            raise NotFound(f"no run folder {run_id!r} in {self.root}")
        live = _live(folder)
        version = f"{_stamp(folder)}/{live}"
        cached = self._snapshots.get(run_id)
        if cached is not None and cached.version == version:
            return cached
        status = _json(folder / RESULT) or {}
        if not isinstance(status, dict):
            raise ReadError(f"{folder / RESULT}: not a JSON object")
        spec = self._spec(folder)
        exp = spec if isinstance(spec, Experiment) else None
        snapshot = Snapshot(id=run_id, name=exp.name if exp else run_id,
                            namespace=exp.namespace if exp else "local", exp=exp,
                            status=status, trials=_trials(folder / HISTORY), live=live,
                            problem=spec if isinstance(spec, str) else None, version=version)
        self._snapshots[run_id] = snapshot
        return snapshot

    def _spec(self, folder: Path) -> Experiment | str:
        """The parsed spec, or why there is none."""
        path = folder / MANIFEST
        try:
            text = path.read_text()
        except FileNotFoundError:
            return f"{path}: missing (an older kubenas run wrote no {MANIFEST}; run it again)"
        except OSError as exc:
            raise ReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if text not in self._specs:
            try:
                self._specs[text] = parse(json.loads(text), source=str(path))
            except ValueError as exc:  # JSON errors and ManifestError
                message = "; ".join(map(str, exc.errors)) if isinstance(exc, ManifestError) \
                    else str(exc)
                raise ReadError(f"{path}: not a valid NASExperiment: {message}") from None
        return self._specs[text]


def _stamp(folder: Path) -> str:
    """Inode, size and modification time of each file: writers replace them atomically, so
    every write makes a new inode."""
    out = []
    for name in MARKERS:
        try:
            stat = (folder / name).stat()
            out.append(f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            out.append("-")
    return ",".join(out)


def _is_run(folder: Path) -> bool:
    return any((folder / name).is_file() for name in MARKERS)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReadError(f"{path}: not valid JSON ({exc})") from None


def _trials(path: Path) -> tuple[Trial, ...]:
    """Every whole record; a last line torn by a crash is left out, as `kubenas run` does."""
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise ReadError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out = []
    for number, line in enumerate(lines, 1):
        try:
            out.append(from_record(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                break
            raise ReadError(f"{path}: line {number} is not a trial record") from None
    return tuple(out)


def _live(folder: Path) -> bool:
    """Whether a `kubenas run` holds the folder: its lock names a live process. (Testing the
    lock itself could make a run starting at that instant find the folder busy.)"""
    try:
        pid = int((folder / RUN_LOCK).read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False
