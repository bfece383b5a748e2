"""Shared helpers for the trainer tests: import path, architectures and the CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TRAINER_ROOT = Path(__file__).resolve().parents[3] / "trainer_image"
if str(TRAINER_ROOT) not in sys.path:  # lets the tests run without installing the package
    sys.path.insert(0, str(TRAINER_ROOT))

SMALL_CNN = {"family": "macro_cnn",
             "params": {"depth": 2, "width": 16, "op": ["conv3x3", "sep_conv3x3"]}}
DIGITS = {"dataset": "digits", "batchSize": 32, "learningRate": 0.05}


def trainer_env(tmp_path: Path, **variables: object) -> dict[str, str]:
    """Environment for one trainer subprocess: a small digits trial unless overridden."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBENAS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TRAINER_ROOT),
                                                      env.get("PYTHONPATH")]))
    env.update(KUBENAS_TRIAL="t", KUBENAS_ARCHITECTURE=json.dumps(SMALL_CNN), KUBENAS_BUDGET="2",
               KUBENAS_THREADS="1",
               KUBENAS_TRAINING=json.dumps(DIGITS),
               KUBENAS_TERMINATION_LOG=str(tmp_path / "termination-log"))
    env.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in variables.items()})
    return env


def start_trainer(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kubenas_trainer", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_trainer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubenas_trainer", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Tiny models run as fast on one thread, and a busy CI box cannot stall its barriers."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KUBENAS_* leaks from the developer's shell into in-process runs."""
    for key in list(os.environ):
        if key.startswith("KUBENAS_") or key == "POD_IP":
            monkeypatch.delenv(key)
