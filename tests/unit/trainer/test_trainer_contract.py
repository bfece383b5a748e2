"""Reading the contract: defaults, CLI over env, and bad input naming the variable."""

from __future__ import annotations

import dataclasses
import json
import re
import socket
from pathlib import Path

import pytest
from kubenas_trainer.__main__ import main
from kubenas_trainer.catalog import FINAL_METRICS, METRICS, PATH_DATASETS, SETTINGS, TRAINING
from kubenas_trainer.contract import (
    _VARIABLES,
    ContractError,
    ExportConfig,
    TrainingConfig,
    field_name,
    load_contract,
)

from .conftest import SMALL_CNN, run_trainer, trainer_env

BASE = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "3"}


def test_defaults() -> None:
    contract, warnings = load_contract([], BASE)
    assert warnings == []
    assert (contract.resource, contract.objective, contract.seed) == ("epochs", "val_accuracy", 0)
    assert contract.split_seed == 0
    assert contract.training.dataset == "digits" and contract.training.optimizer == "sgd"
    assert contract.termination_log == "/dev/termination-log"
    assert not contract.termination_log_explicit
    assert (contract.metrics_port, contract.metrics_host) == (0, "0.0.0.0")
    assert contract.target == 3
    assert contract.export == ExportConfig("none", {}) and contract.export_dir is None
    assert (contract.training.latency_runtime, contract.training.latency_threads,
            contract.training.latency_warmup, contract.training.latency_runs) == (
        "torch", 1, 10, 50)


def test_export_options() -> None:
    found_by = {"experiment": "q", "strategy": "tpe", "trial": "q-7", "budget": 9, "seed": 3}
    text = json.dumps({"quantize": "int8", "foundBy": found_by, "format": "tflite"})
    contract, warnings = load_contract(["--export", text], BASE)
    assert contract.export == ExportConfig("int8", found_by)
    assert warnings == ["KUBENAS_EXPORT: ignoring unknown key 'format'"]
    contract, _ = load_contract([], {**BASE, "KUBENAS_EXPORT": '{"quantize": "none"}'})
    assert contract.export == ExportConfig()


def test_cli_flags_override_env_and_pod_ip_is_the_default_host() -> None:
    env = {**BASE, "POD_IP": "10.0.0.7", "KUBENAS_SEED": "1"}
    contract, _ = load_contract(["--budget", "1.2", "--seed", "9", "--split-seed", "4",
                                 "--training", '{"dataset": "mnist", "compile": true, "x": 1}'],
                                {**env, "KUBENAS_SPLIT_SEED": "3"})
    assert (contract.budget, contract.target, contract.seed) == (1.2, 2, 9)
    assert contract.split_seed == 4
    assert contract.training.dataset == "mnist" and contract.training.compile
    assert contract.metrics_host == "10.0.0.7"
    contract, warnings = load_contract(["--training", '{"x": 1}'], env)
    assert warnings == ["KUBENAS_TRAINING: ignoring unknown key 'x'"]


@pytest.mark.parametrize("env,message", [
    ({"KUBENAS_BUDGET": "-1"}, "KUBENAS_BUDGET must be a number > 0"),
    ({"KUBENAS_BUDGET": ""}, "KUBENAS_BUDGET is required"),
    ({"KUBENAS_ARCHITECTURE": "{"}, "KUBENAS_ARCHITECTURE must be JSON"),
    ({"KUBENAS_ARCHITECTURE": "[1]"}, "KUBENAS_ARCHITECTURE must be"),
    ({"KUBENAS_RESOURCE": "hours"}, "KUBENAS_RESOURCE must be one of epochs, steps"),
    ({"KUBENAS_OBJECTIVE": "f1"}, "KUBENAS_OBJECTIVE must be one of"),
    ({"KUBENAS_SEED": "x"}, "KUBENAS_SEED must be an integer"),
    ({"KUBENAS_SPLIT_SEED": "-1"}, "KUBENAS_SPLIT_SEED must be an integer >= 0, got '-1'"),
    ({"KUBENAS_SPLIT_SEED": "0.5"}, "KUBENAS_SPLIT_SEED must be an integer >= 0"),
    ({"KUBENAS_METRICS_PORT": "70000"}, "KUBENAS_METRICS_PORT must be a port"),
    ({"KUBENAS_THREADS": "0"}, "KUBENAS_THREADS must be an integer >= 1"),
    ({"KUBENAS_TRAINING": '{"dataset": "imagenet"}'}, "KUBENAS_TRAINING.dataset must be one of"),
    ({"KUBENAS_TRAINING": '{"batchSize": 0}'}, "KUBENAS_TRAINING.batchSize must be an integer"),
    ({"KUBENAS_TRAINING": '{"batchSize": 3.5}'}, "KUBENAS_TRAINING.batchSize must be an integer"),
    ({"KUBENAS_TRAINING": '{"learningRate": true}'}, "KUBENAS_TRAINING.learningRate"),
    ({"KUBENAS_TRAINING": '{"validationFraction": 1}'}, "validationFraction must be"),
    ({"KUBENAS_TRAINING": '{"dataset": "npz"}'}, "KUBENAS_TRAINING.path is required"),
    ({"KUBENAS_TRAINING": '{"latencyRuns": NaN}'}, "KUBENAS_TRAINING must be a JSON object"),
    ({"KUBENAS_EXPORT": "int8"}, "KUBENAS_EXPORT must be a JSON object like"),
    ({"KUBENAS_EXPORT": '["int8"]'}, "KUBENAS_EXPORT must be a JSON object like"),
    ({"KUBENAS_EXPORT": '{"quantize": "fp16"}'},
     "KUBENAS_EXPORT.quantize must be one of none, int8, got 'fp16'"),
    ({"KUBENAS_EXPORT": '{"foundBy": "me"}'},
     "KUBENAS_EXPORT.foundBy must be a JSON object, got 'me'"),
    ({"KUBENAS_EXPORT": '{"foundBy": {"seed": Infinity}}'},
     "KUBENAS_EXPORT must be a JSON object like {\"quantize\": \"int8\", \"foundBy\": {...}}: "
     "Infinity is not JSON"),
])
def test_bad_input_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ContractError, match=re.escape(message)):
        load_contract([], {**BASE, **env})


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("env,message", [
    ({"KUBENAS_TRAINING": '{"optimizer": "lbfgs"}'}, "KUBENAS_TRAINING.optimizer must be one"),
    ({"KUBENAS_ARCHITECTURE": '{"family": "nb201", "params": {"edges": []}}'}, "exactly 6"),
    ({"KUBENAS_TRAINING": '{"dataset": "npz", "path": "/nonexistent.npz"}'}, "no .npz file"),
    ({"KUBENAS_EXPORT": '{"quantize": "int4"}'}, "KUBENAS_EXPORT.quantize must be one of"),
    ({"KUBENAS_TRAINING": '{"latencyRuntime": "tensorrt"}'},
     "KUBENAS_TRAINING.latencyRuntime must be one of torch, onnxruntime, got 'tensorrt'"),
    ({"KUBENAS_TRAINING": '{"latencyRuns": 0}'},
     "KUBENAS_TRAINING.latencyRuns must be an integer >= 1 and <= 10000, got 0"),
    ({"KUBENAS_TRAINING": '{"latencyThreads": 1.5}'}, "KUBENAS_TRAINING.latencyThreads must be"),
])
def test_main_exits_2_with_one_line(env: dict[str, str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], {**BASE, **env}) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("kubenas-trainer: error: ")
    assert message in lines[-1]


@pytest.mark.usefixtures("clean_env")
def test_main_exits_2_when_the_metrics_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**BASE, "KUBENAS_METRICS_PORT": str(port), "KUBENAS_METRICS_HOST": "127.0.0.1"}
        assert main([], env) == 2
    assert "KUBENAS_METRICS_PORT: cannot serve metrics on 127.0.0.1" in capsys.readouterr().err


def test_cli_exits_2_on_bad_input(tmp_path: Path) -> None:
    done = run_trainer(trainer_env(tmp_path, KUBENAS_BUDGET="lots"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "kubenas-trainer: error: KUBENAS_BUDGET must be a number > 0, got 'lots'")
    assert "KUBENAS_RESULT" not in done.stdout
    assert not (tmp_path / "termination-log").exists()


def test_training_config_is_the_catalog() -> None:
    """One field per catalog setting, with the catalog's default (no second copy)."""
    fields = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
    assert fields == {field_name(s.name): s.default for s in TRAINING}
    assert field_name("batchSize") == "batch_size" and field_name("imageSize") == "image_size"


def _valid_value(name: str) -> object:
    setting = SETTINGS[name]
    if setting.enum:
        return setting.enum[-1]
    return {"string": "/data/x.npz", "boolean": True,
            "integer": int(setting.maximum or 7), "number": setting.maximum or 0.5}[setting.kind]


def _bad_values(name: str) -> list[object]:
    setting = SETTINGS[name]
    bad: list[object] = [None, [1]]
    if setting.enum:
        bad.append("no-such-" + name)
    if setting.kind == "boolean":
        bad += ["true", 1]
    if setting.kind == "string":
        bad += ["", 3]
    if setting.kind in ("integer", "number"):
        bad += [True, "3"]
        if setting.maximum is not None:
            over = setting.maximum * 2 if setting.kind == "number" else int(setting.maximum) + 1
            bad.append(over)
        if setting.minimum is not None:
            bad.append(setting.minimum if setting.exclusive_minimum else setting.minimum - 1)
    if setting.kind == "integer":
        bad.append(2.5)
    return bad


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_training_key_is_checked_by_the_catalog(name: str) -> None:
    setting = SETTINGS[name]
    extra = {"path": "/data/x.npz"} if name == "dataset" else {}
    value = _valid_value(name)
    contract, warnings = load_contract([], {**BASE, "KUBENAS_TRAINING": json.dumps(
        {name: value, **extra})})
    assert warnings == []
    assert getattr(contract.training, field_name(name)) == value
    if setting.kind == "number":
        assert isinstance(getattr(contract.training, field_name(name)), float)
    for bad in _bad_values(name):
        with pytest.raises(ContractError) as info:
            load_contract([], {**BASE, "KUBENAS_TRAINING": json.dumps({name: bad})})
        assert str(info.value) == f"KUBENAS_TRAINING.{name} must be {setting.valid}, got {bad!r}"


@pytest.mark.parametrize("dataset", PATH_DATASETS)
def test_path_datasets_need_a_path(dataset: str) -> None:
    with pytest.raises(ContractError, match=f"KUBENAS_TRAINING.path is required for dataset "
                                            f"'{dataset}'"):
        load_contract([], {**BASE, "KUBENAS_TRAINING": json.dumps({"dataset": dataset})})
    contract, _ = load_contract([], {**BASE, "KUBENAS_TRAINING": json.dumps(
        {"dataset": dataset, "path": "d"})})
    assert contract.training.path == "d"


@pytest.mark.parametrize("metric", METRICS)
def test_every_catalog_metric_is_an_objective(metric: str) -> None:
    contract, _ = load_contract(["--objective", metric], BASE)
    assert contract.objective == metric


@pytest.mark.usefixtures("clean_env")
def test_final_only_objective_has_an_empty_curve(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    env = {**BASE, "KUBENAS_BUDGET": "1", "KUBENAS_OBJECTIVE": FINAL_METRICS[0],
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    assert main([], env) == 0
    result = json.loads((tmp_path / "log").read_text())
    assert result["curve"] == []
    assert set(result["metrics"]) == set(METRICS)


def test_the_contract_doc_lists_every_variable_and_training_key() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "trial-contract.md").read_text()
    for env, flag, _ in _VARIABLES:
        assert f"| `{env}` |" in doc and f"`{flag}`" in doc, env
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip()
            for line in doc.splitlines() if line.startswith("| `") and line.count("|") == 6}
    for setting in TRAINING:  # key | type | default | ...: the default as JSON, strings bare
        value = setting.default
        text = value if isinstance(value, str) else json.dumps(value)
        assert rows.get(f"`{setting.name}`") == ("" if value is None else f"`{text}`"), setting.name
