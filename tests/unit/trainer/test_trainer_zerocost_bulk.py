"""KUBENAS_ZEROCOST: its validation, and a bulk search end to end through the CLI."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import signal
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from kubenas_trainer.__main__ import main
from kubenas_trainer.catalog import MACRO_CNN, NB201, ZERO_COST_PROXIES
from kubenas_trainer.contract import ContractError, ZeroCostConfig, load_contract
from kubenas_trainer.data import load_dataset
from kubenas_trainer.models import build_model
from kubenas_trainer.oplist import OpListSpace
from kubenas_trainer.report import MAX_BYTES, PREFIX
from kubenas_trainer.zerocost import candidates, minibatch, ranking, score
from kubenas_trainer.zerocost.search import bulk_result

from .conftest import DIGITS, run_trainer, start_trainer, trainer_env
from .test_trainer_cli import _free_port, _scrape

ALL = list(ZERO_COST_PROXIES)
NB201_OPS = list(NB201.param("edges").ops)  # type: ignore[union-attr]
MACRO_OPS = list(MACRO_CNN.param("op").ops)  # type: ignore[union-attr]
SMALL_NB201 = {"family": "nb201", "params": {"cells_per_stage": 1, "channels": 4}}
BASE = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_NB201), "KUBENAS_BUDGET": "1"}


def _zero_cost(text: object, architecture: object = SMALL_NB201) -> ZeroCostConfig | None:
    env = {**BASE, "KUBENAS_ZEROCOST": json.dumps(text),
           "KUBENAS_ARCHITECTURE": json.dumps(architecture)}
    return load_contract([], env)[0].zero_cost


def test_per_trial_and_bulk_options() -> None:
    assert load_contract([], BASE)[0].zero_cost is None
    assert _zero_cost({"proxies": ["synflow"]}) == ZeroCostConfig(("synflow",), 64)
    config = _zero_cost({"proxies": ["snip", "params"], "batchSize": 8, "sample": 30, "top": 3,
                         "choices": {"edges": ["none", "nor_conv_3x3"]}})
    assert config == ZeroCostConfig(("snip", "params"), 8, "edges", ("none", "nor_conv_3x3"),
                                    30, 3)
    _, warnings = load_contract(["--zero-cost", '{"proxies": ["flops"], "batch": 3}'], BASE)
    assert warnings == ["KUBENAS_ZEROCOST: ignoring unknown key 'batch'"]


BAD = [
    ("[1]", None, "KUBENAS_ZEROCOST must be a JSON object like"),
    ('{"proxies": [NaN]}', None, "KUBENAS_ZEROCOST must be a JSON object like"),
    ({}, None, "KUBENAS_ZEROCOST.proxies must be a non-empty list of distinct names from "
               "synflow, jacob_cov"),
    ({"proxies": ["zen"]}, None, "KUBENAS_ZEROCOST.proxies must be"),
    ({"proxies": ["snip", "snip"]}, None, "KUBENAS_ZEROCOST.proxies must be"),
    ({"proxies": ["snip"], "batchSize": 0}, None,
     "KUBENAS_ZEROCOST.batchSize must be an integer >= 1 and <= 4096, got 0"),
    ({"proxies": ["snip"], "batchSize": 4097}, None, "KUBENAS_ZEROCOST.batchSize must be"),
    ({"proxies": ["snip"], "sample": 5}, None, "KUBENAS_ZEROCOST.sample needs choices"),
    ({"proxies": ["snip"], "choices": {"edges": ["none"]}}, None,
     "KUBENAS_ZEROCOST.sample is required with choices (a bulk search): an integer >= 1 and "
     "<= 100000"),
    ({"proxies": ["snip"], "choices": {"edges": ["none"]}, "sample": 100001}, None,
     "KUBENAS_ZEROCOST.sample must be an integer >= 1 and <= 100000, got 100001"),
    ({"proxies": ["snip"], "choices": {"edges": ["none"]}, "sample": 9, "top": 51}, None,
     "KUBENAS_ZEROCOST.top must be an integer >= 1 and <= 50, got 51"),
    ({"proxies": ["snip"], "choices": {"op": ["skip"]}, "sample": 9}, None,
     "KUBENAS_ZEROCOST.choices must be an object with the one key 'edges' (the nb201 op "
     "list)"),
    ({"proxies": ["snip"], "choices": {"edges": ["conv3x3"]}, "sample": 9}, None,
     "KUBENAS_ZEROCOST.choices.edges: unknown op 'conv3x3'; valid ops are ['none', "),
    ({"proxies": ["snip"], "choices": {"edges": []}, "sample": 9}, None,
     "KUBENAS_ZEROCOST.choices.edges must list at least 1 distinct op, got []"),
    ({"proxies": ["snip"], "choices": {"edges": ["none", "none"]}, "sample": 9}, None,
     "KUBENAS_ZEROCOST.choices.edges must list at least 1 distinct op"),
    ({"proxies": ["snip"], "choices": {"edges": ["none"]}, "sample": 9},
     {"family": "nb201", "params": {"edges": ["none"] * 6}},
     "KUBENAS_ARCHITECTURE.params must not set 'edges': KUBENAS_ZEROCOST.choices searches "
     "it"),
    ({"proxies": ["snip"], "choices": {"depth": [1]}, "sample": 9},
     {"family": "mobilenet", "params": {}},
     "KUBENAS_ZEROCOST: a bulk search supports macro_cnn and nb201, not family 'mobilenet'"),
]


@pytest.mark.parametrize("text,architecture,message", BAD)
def test_bad_zero_cost_input_names_the_key(text: object, architecture: object,
                                           message: str) -> None:
    env = {**BASE, "KUBENAS_ZEROCOST": text if isinstance(text, str) else json.dumps(text),
           "KUBENAS_ARCHITECTURE": json.dumps(architecture or SMALL_NB201)}
    with pytest.raises(ContractError, match=re.escape(message)):
        load_contract([], env)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("architecture,message", [
    ({"family": "macro_cnn", "params": {"width": 4}},
     "macro_cnn: param 'depth' is required (an integer 1..64)"),
    ({"family": "nb201", "params": {"channels": 0}}, "nb201: param 'channels' must be"),
    ({"family": "nb201", "params": {"cells": 1}}, "nb201: unknown params ['cells']"),
])
def test_a_bad_fixed_param_exits_2_before_any_work(
        architecture: dict, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    choices = {NB201.name: {"edges": ["none"]}, MACRO_CNN.name: {"op": ["skip"]}}
    text = json.dumps({"proxies": ["params"], "sample": 3,
                       "choices": choices[architecture["family"]]})
    env = {**BASE, "KUBENAS_ARCHITECTURE": json.dumps(architecture), "KUBENAS_ZEROCOST": text}
    assert main([], env) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("kubenas-trainer: error: ") and message in line, line


@given(st.lists(st.sampled_from(MACRO_OPS), min_size=1, max_size=6, unique=True),
       st.integers(1, 4), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_candidates_are_distinct_and_cover_a_small_space(ops: list[str], slots: int,
                                                         sample: int, seed: int) -> None:
    space = OpListSpace("macro_cnn", {"depth": slots, "width": 4}, "op", tuple(ops), slots)
    drawn = candidates(space, sample, seed)
    assert len(set(drawn)) == len(drawn) == min(sample, space.size)
    assert all(len(c) == slots and set(c) <= set(ops) for c in drawn)
    if space.size <= sample:  # enumerated, each architecture exactly once
        assert drawn == list(itertools.product(ops, repeat=slots))
    else:
        assert candidates(space, sample, seed) == drawn


@given(st.lists(st.sampled_from(NB201_OPS), min_size=1, max_size=5, unique=True),
       st.integers(1, 100_000))
def test_any_choice_subset_and_sample_is_a_valid_bulk_search(ops: list[str], sample: int) -> None:
    config = _zero_cost({"proxies": ["params"], "choices": {"edges": ops}, "sample": sample})
    assert config is not None and config.choices == tuple(ops) and config.sample == sample


@pytest.mark.parametrize("param,ops,slots", [
    ("edges", ["nor_conv_3x3", "avg_pool_3x3"], 6), ("op", ["sep_conv5x5", "max_pool3x3"], 12)])
def test_ten_best_with_every_proxy_fit_the_termination_message(param: str, ops: list[str],
                                                               slots: int) -> None:
    drawn = [tuple(ops[(i >> k) & 1] for k in range(slots)) for i in range(60)]
    rows = [dict.fromkeys(ALL, -1.23456789e-35 * (i + 1)) for i in range(60)]
    result = bulk_result(1, param, drawn, rows, ALL, 10, 0.0123456)
    assert len(result["zeroCost"]["top"]) == 10
    assert len(json.dumps(result, separators=(",", ":")).encode()) < MAX_BYTES
    assert result["zeroCost"]["top"][0]["scores"]["synflow"] == -1.235e-35  # 4 digits
    trimmed = bulk_result(1, param, drawn, rows, ALL, 50, 0.0123456)
    assert 10 <= len(trimmed["zeroCost"]["top"]) < 50
    assert len(json.dumps(trimmed, separators=(",", ":")).encode()) < MAX_BYTES


def test_a_bulk_search_enumerates_a_small_space_and_lists_the_best(tmp_path: Path) -> None:
    architecture = {"family": "macro_cnn", "params": {"depth": 3, "width": 4, "dropout": 0.2}}
    ops = ["conv3x3", "skip", "max_pool3x3"]
    zero_cost = {"proxies": ALL, "choices": {"op": ops}, "sample": 1000, "top": 10,
                 "batchSize": 16}
    done = run_trainer(trainer_env(tmp_path, KUBENAS_ARCHITECTURE=architecture,
                                   KUBENAS_ZEROCOST=zero_cost, KUBENAS_SEED="4"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "termination-log").read_text()
    assert len(text.encode()) < MAX_BYTES and done.stdout.splitlines()[-1] == PREFIX + text
    result = json.loads(text)
    assert {k: v for k, v in result.items() if k not in ("metrics", "zeroCost")} == {
        "budget": 2, "epochs_trained": 0, "steps_trained": 0, "resumed_from_epoch": None,
        "checkpoint": None, "curve": []}
    assert result["metrics"]["scored"] == 27 and 0 < result["metrics"]["seconds_per_arch"] < 5
    assert result["zeroCost"]["proxies"] == ALL and result["zeroCost"]["scored"] == 27
    assert "scored 27/27" in done.stdout and re.search(r"epoch \d", done.stdout) is None

    # The same scores in this process: the 10 best by mean rank over all 27, in order.
    data = load_dataset(load_contract([], trainer_env(tmp_path))[0].training, 0)
    x, y = minibatch(data, 16, 4)
    drawn = list(itertools.product(ops, repeat=3))
    rows = []
    for candidate in drawn:
        torch.manual_seed(4)
        params = {**architecture["params"], "op": list(candidate)}
        rows.append(score(build_model("macro_cnn", params, data.in_shape, 10), x, y, ALL, 4)[0])
    best = [{"op": list(drawn[i])} for i in ranking(rows, ALL)[:10]]
    assert [entry["params"] for entry in result["zeroCost"]["top"]] == best
    top = result["zeroCost"]["top"][0]["scores"]
    assert set(top) == set(ALL) and isinstance(top["params"], int)


def test_bulk_progress_is_scraped_and_sigterm_stops_it(tmp_path: Path) -> None:
    port = _free_port()
    zero_cost = {"proxies": ["params", "naswot"], "choices": {"edges": NB201_OPS},
                 "sample": 100_000}
    env = trainer_env(tmp_path, KUBENAS_ARCHITECTURE=SMALL_NB201, KUBENAS_ZEROCOST=zero_cost,
                      KUBENAS_METRICS_PORT=str(port), KUBENAS_METRICS_HOST="127.0.0.1",
                      KUBENAS_TRAINING=DIGITS)
    scored = 0.0
    with start_trainer(env) as process:
        try:
            deadline = time.monotonic() + 60
            while scored < 2 and process.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(OSError):  # not listening yet
                    scored = _scrape(port).get("kubenas_trial_metric", {}).get(
                        (("metric", "scored"),), 0.0)
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
    assert scored >= 2
    assert process.returncode == 143, stderr
    assert "scoring 15625 of 15625 nb201 architectures (params, naswot) on 64 samples" in stdout
    assert PREFIX not in stdout and not (tmp_path / "termination-log").exists()


def test_the_cli_exits_2_on_a_bad_bulk_search(tmp_path: Path) -> None:
    done = run_trainer(trainer_env(tmp_path, KUBENAS_ARCHITECTURE=SMALL_NB201,
                                   KUBENAS_ZEROCOST={"proxies": ["snip"], "sample": 5,
                                                     "choices": {"edges": ["conv"]}}))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        "kubenas-trainer: error: KUBENAS_ZEROCOST.choices.edges: unknown op 'conv'")
    assert PREFIX not in done.stdout and "data:" not in done.stdout
