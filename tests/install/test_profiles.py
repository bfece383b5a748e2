"""What a user installs is what runs: each install profile in a clean venv, entry points run.

The install lines are read from where users get them (the operator Dockerfile, the trainer
Dockerfile and its requirements, the Makefile's demo), so a test can never check a profile
other than the shipped one. pip reuses its cache, and torch comes from the local wheel, so
torch is not downloaded again. A dependency missing from a profile fails here, with the
entry point's own error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _shipped(pattern: str, path: Path) -> str:
    match = re.search(pattern, path.read_text(), re.MULTILINE)
    assert match, f"{path} no longer matches {pattern!r}"
    return match.group(1)


def _venv(folder: Path, *requirements: str) -> Path:
    """A fresh venv with only these requirements; returns its bin folder."""
    venv.create(folder, with_pip=True, clear=True)
    bin_dir = folder / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                           *requirements], capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


def _run(*cmd: str, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **(env or {})}, cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def copy_of_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sources pip builds from, without this checkout's venv and caches."""
    target = tmp_path_factory.mktemp("src") / "kubenas"
    local = {".venv", ".tools", ".cluster", "runs", ".git", "build", "dist"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {n for n in names if n in local} if Path(folder) == REPO else set()
        return top | {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}

    shutil.copytree(REPO, target, ignore=ignore)
    return target


def test_the_operator_image_profile_runs_its_entry_points(
        copy_of_repo: Path, tmp_path: Path) -> None:
    extras = _shipped(r'pip install "\.\[([a-z,]+)\]"', REPO / "Dockerfile")
    assert extras == "operator"
    bin_dir = _venv(tmp_path / "venv", f"{copy_of_repo}[{extras}]")
    assert "torch" not in _run(str(bin_dir / "python"), "-m", "pip", "list").stdout
    done = _run(str(bin_dir / "kubenas"), "operator", "--help")
    assert done.returncode == 0 and "--prometheus-url" in done.stdout
    examples = sorted(str(p) for p in (REPO / "examples").glob("*.yaml"))
    done = _run(str(bin_dir / "kubenas"), "validate", *examples)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("valid NASExperiment") == len(examples)
    done = _run(str(bin_dir / "python"), "-c", "import kubenas.backends.kubernetes.main")
    assert done.returncode == 0, done.stderr


def test_the_trainer_image_profile_trains_one_epoch(tmp_path: Path) -> None:
    """The trainer image: its base image's torch, its requirements, only kubenas_trainer."""
    dockerfile = REPO / "trainer_image" / "Dockerfile"
    torch_version = _shipped(r"^ARG BASE_IMAGE=pytorch/pytorch:([0-9.]+)-", dockerfile)
    assert f"torch=={torch_version}" in (REPO / "pyproject.toml").read_text()
    assert "pip install -r requirements.txt" in dockerfile.read_text()
    bin_dir = _venv(tmp_path / "venv", f"torch=={torch_version}", "-r",
                    str(REPO / "trainer_image" / "requirements.txt"))
    image = tmp_path / "opt" / "kubenas"
    shutil.copytree(REPO / "trainer_image" / "kubenas_trainer", image / "kubenas_trainer")
    env = {"PYTHONPATH": str(image), "KUBENAS_BUDGET": "1", "KUBENAS_THREADS": "1",
           "KUBENAS_TRAINING": '{"dataset": "digits", "batchSize": 16}',
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "result.json"),
           "KUBENAS_ARCHITECTURE": json.dumps({"family": "macro_cnn", "params": {
               "depth": 2, "width": 16, "op": ["conv3x3", "conv3x3"]}})}
    done = _run(str(bin_dir / "python"), "-m", "kubenas_trainer", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["epochs_trained"] == 1 and result["metrics"]["val_accuracy"] > 0.3


def test_the_demo_profile_runs_a_search(copy_of_repo: Path, tmp_path: Path) -> None:
    extras = _shipped(r"^DEMO_EXTRAS := ([a-z,]+)$", REPO / "Makefile")
    bin_dir = _venv(tmp_path / "venv", f"{copy_of_repo}[{extras}]")
    manifest = tmp_path / "two.yaml"
    manifest.write_text((REPO / "examples" / "quickstart.yaml").read_text()
                        .replace("maxTrials: 12", "maxTrials: 2")
                        .replace("min: 2\n    max: 18", "min: 1\n    max: 1"))
    done = _run(str(bin_dir / "kubenas"), "run", str(manifest), "--out", str(tmp_path / "out"),
                "--plain")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["phase"] == "Succeeded" and result["trials"]["succeeded"] == 2
