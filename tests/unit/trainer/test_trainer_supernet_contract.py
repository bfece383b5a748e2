"""KUBENAS_SUPERNET: defaults and warnings, and bad input as exit code 2 naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kubenas_trainer.__main__ import main
from kubenas_trainer.catalog import SUPERNET_CANDIDATES, SUPERNET_METHOD_SETTINGS, SUPERNET_SETTINGS
from kubenas_trainer.contract import SupernetConfig, load_contract

NB201 = {"family": "nb201", "params": {"channels": 4, "cells_per_stage": 1}}
SEARCH = {"method": "darts", "choices": {"edges": ["none", "skip_connect", "nor_conv_3x3"]}}


def _env(supernet: object, architecture: object = NB201, **extra: str) -> dict[str, str]:
    return {"KUBENAS_ARCHITECTURE": json.dumps(architecture), "KUBENAS_BUDGET": "1",
            "KUBENAS_SUPERNET": json.dumps(supernet), **extra}


def test_defaults_warnings_and_canonical_form() -> None:
    contract, warnings = load_contract([], _env(SEARCH))
    assert warnings == []
    assert contract.supernet == SupernetConfig("darts", "edges",
                                               ("none", "skip_connect", "nor_conv_3x3"))
    assert contract.supernet.as_json() == {
        "method": "darts", "choices": {"edges": ["none", "skip_connect", "nor_conv_3x3"]},
        "candidates": 3, "settings": {"archLearningRate": 3e-4}}
    spos = {"method": "spos", "choices": {"op": ["conv3x3", "skip"]}, "candidates": 20,
            "settings": {"population": 8, "cycles": 0, "klWeight": 0.1, "beam": 2},
            "budget": 1}
    macro = {"family": "macro_cnn", "params": {"depth": 2, "width": 4}}
    contract, warnings = load_contract(["--supernet", json.dumps(spos)], _env(SEARCH, macro))
    assert contract.supernet is not None
    assert (contract.supernet.population, contract.supernet.cycles) == (8, 0)
    assert contract.supernet.candidates == 20 and contract.supernet.param == "op"
    assert sorted(warnings) == ["KUBENAS_SUPERNET.settings: ignoring unknown key 'beam'",
                                "KUBENAS_SUPERNET.settings: method spos ignores 'klWeight'",
                                "KUBENAS_SUPERNET: ignoring unknown key 'budget'"]
    assert load_contract([], _env(SEARCH) | {"KUBENAS_SUPERNET": ""})[0].supernet is None


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("supernet,architecture,extra,message", [
    ({**SEARCH, "method": "enas"}, NB201, {},
     "KUBENAS_SUPERNET.method must be one of darts, drnas, spos, got 'enas'"),
    ({**SEARCH, "choices": {"edges": ["none", "conv9x9"]}}, NB201, {},
     "KUBENAS_SUPERNET.choices.edges: unknown op 'conv9x9'; valid ops are"),
    ({**SEARCH, "choices": {"edges": ["nor_conv_3x3"]}}, NB201, {},
     "KUBENAS_SUPERNET.choices.edges must list at least 2 distinct ops"),
    ({**SEARCH, "choices": {"edges": ["none", "none"]}}, NB201, {},
     "KUBENAS_SUPERNET.choices.edges must list at least 2 distinct ops"),
    ({**SEARCH, "choices": {"edges": "none"}}, NB201, {},
     "KUBENAS_SUPERNET.choices.edges must be a list of op names"),
    ({**SEARCH, "choices": {"op": ["conv3x3", "skip"]}}, NB201, {},
     "KUBENAS_SUPERNET.choices must be an object with the one key 'edges'"),
    (SEARCH, {"family": "mobilenet", "params": {}}, {},
     "one-shot search supports macro_cnn and nb201, not family 'mobilenet'"),
    ({**SEARCH, "candidates": 0}, NB201, {},
     "KUBENAS_SUPERNET.candidates must be an integer >= 1 and <= 20, got 0"),
    ({**SEARCH, "candidates": 21}, NB201, {}, "KUBENAS_SUPERNET.candidates must be"),
    (SEARCH, NB201, {"KUBENAS_RESOURCE": "steps"},
     "KUBENAS_RESOURCE must be epochs for a one-shot search (KUBENAS_SUPERNET), got 'steps'"),
    ({**SEARCH, "settings": {"archLearningRate": 0}}, NB201, {},
     "KUBENAS_SUPERNET.settings.archLearningRate must be a number > 0"),
    ({**SEARCH, "settings": {"cycles": 1.5}}, NB201, {},
     "KUBENAS_SUPERNET.settings.cycles must be an integer"),
    ({**SEARCH, "settings": []}, NB201, {}, "KUBENAS_SUPERNET.settings must be a JSON object"),
    ([SEARCH], NB201, {}, "KUBENAS_SUPERNET must be a JSON object like"),
    (SEARCH, {"family": "nb201", "params": {"edges": ["none"] * 6}}, {},
     "KUBENAS_ARCHITECTURE.params must not set 'edges': KUBENAS_SUPERNET.choices searches it"),
    ({"method": "darts", "choices": {"op": ["conv3x3", "skip"]}},
     {"family": "macro_cnn", "params": {"width": 4}}, {}, "macro_cnn: param 'depth' is required"),
])
def test_bad_input_exits_2_with_one_line_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], supernet: object,
        architecture: object, extra: dict[str, str], message: str) -> None:
    env = _env(supernet, architecture, KUBENAS_TERMINATION_LOG=str(tmp_path / "log"), **extra)
    assert main([], env) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    assert re.match(r"kubenas-trainer: error: ", line) and message in line, line
    assert "data:" not in captured.out  # failed before the dataset was even loaded
    assert not (tmp_path / "log").exists()


@pytest.mark.usefixtures("clean_env")
def test_a_bad_supernet_json_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(SEARCH) | {"KUBENAS_SUPERNET": '{"method": NaN}'}
    assert main([], env) == 2
    assert "KUBENAS_SUPERNET must be a JSON object like" in capsys.readouterr().err


def test_the_contract_doc_lists_every_setting_with_its_catalog_default() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "trial-contract.md").read_text()
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in doc.splitlines() if line.startswith("| `")}
    for setting in SUPERNET_SETTINGS:  # setting | methods | default | ...
        methods = [m for m, keys in SUPERNET_METHOD_SETTINGS.items() if setting.name in keys]
        assert rows[f"`{setting.name}`"][:2] == [", ".join(methods),
                                                 f"`{json.dumps(setting.default)}`"]
    assert rows["`candidates`"][0] == f"`{SUPERNET_CANDIDATES.default}`"
