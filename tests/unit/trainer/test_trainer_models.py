"""Every op of macro_cnn and nb201 builds, runs forward/backward and takes an optimizer step;
every family's scalar bounds come from the catalog."""

from __future__ import annotations

import re

import pytest
import torch
from kubenas_trainer import catalog, models
from kubenas_trainer.models import build_model, check_architecture, macro_cnn, nb201
from kubenas_trainer.models._params import parse_params

from .steps import SHAPES, train_one_step


@pytest.mark.parametrize("in_shape", SHAPES, ids=["8x8", "28x28"])
@pytest.mark.parametrize("op", sorted(macro_cnn.OPS))
def test_macro_cnn_op_trains(op: str, in_shape: tuple[int, int, int]) -> None:
    params = {"depth": 3, "width": 8, "op": [op, op, op], "dropout": 0.1}
    train_one_step(build_model("macro_cnn", params, in_shape, 10), in_shape)


@pytest.mark.parametrize("in_shape", SHAPES, ids=["8x8", "28x28"])
@pytest.mark.parametrize("op", sorted(nb201.OPS))
def test_nb201_op_trains(op: str, in_shape: tuple[int, int, int]) -> None:
    edges = [op, "nor_conv_3x3", op, "skip_connect", op, op]
    params = {"edges": edges, "cells_per_stage": 1, "channels": 4}
    train_one_step(build_model("nb201", params, in_shape, 10), in_shape)


def test_nb201_defaults_follow_the_benchmark() -> None:
    model = build_model("nb201", {"edges": ["nor_conv_3x3"] * 6}, (3, 32, 32), 10)
    assert isinstance(model, nb201.NB201Network)
    assert sum(isinstance(m, nb201.Cell) for m in model.modules()) == 15
    assert model.head.in_features == 64


@pytest.mark.parametrize("family,params", [
    ("macro_cnn", {"depth": 4, "width": 4, "op": ["conv3x3"] * 4}),
    ("nb201", {"edges": ["nor_conv_3x3"] * 6, "cells_per_stage": 1, "channels": 4}),
])
def test_models_accept_1x1_inputs(family: str, params: dict) -> None:
    assert build_model(family, params, (3, 1, 1), 10)(torch.randn(2, 3, 1, 1)).shape == (2, 10)


def test_macro_cnn_uses_only_the_first_depth_ops() -> None:
    model = build_model("macro_cnn", {"depth": 1, "width": 4, "op": ["skip", "conv5x5"]},
                        (1, 8, 8), 10)
    assert isinstance(model.features[1], torch.nn.Identity)


@pytest.mark.parametrize("family,params,message", [
    ("resnet", {}, "unknown architecture family 'resnet'"),
    ("macro_cnn", {"depth": 2, "width": 8, "op": ["conv3x3", "conv7x7"]}, "unknown op 'conv7x7'"),
    ("macro_cnn", {"depth": 3, "width": 8, "op": ["conv3x3"]}, "at least 3"),
    ("macro_cnn", {"depth": True, "width": 8, "op": ["conv3x3"]}, "'depth' must be an integer"),
    ("macro_cnn", {"width": 8, "op": ["conv3x3"]}, "'depth' is required"),
    ("macro_cnn", {"depth": 1, "width": 8, "op": ["skip"], "dropout": 1.5}, "'dropout'"),
    ("macro_cnn", {"depth": 1, "width": 8, "op": ["skip"], "stride": 2}, "unknown params"),
    ("nb201", {"edges": ["nor_conv_3x3"] * 5}, "exactly 6"),
    ("nb201", {"edges": ["nor_conv_3x3"] * 5 + ["sep_conv_3x3"]}, "unknown op 'sep_conv_3x3'"),
    ("nb201", {"edges": "nor_conv_3x3"}, "must be a list"),
])
def test_bad_architectures_raise_clear_errors(family: str, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_architecture(family, params)
    with pytest.raises(ValueError, match=re.escape(message)):
        build_model(family, params, (1, 8, 8), 10)


def _param(family: str, name: str) -> catalog.Param:
    param = catalog.FAMILIES[family].param(name)
    assert param is not None
    return param


def test_families_and_ops_are_the_catalogs() -> None:
    assert set(models.FAMILIES) == set(catalog.FAMILIES)
    assert tuple(macro_cnn.OPS) == _param("macro_cnn", "op").ops
    assert tuple(nb201.OPS) == _param("nb201", "edges").ops
    assert _param("nb201", "edges").length == len(nb201.EDGES)


def test_defaults_come_from_the_catalog() -> None:
    spec = nb201.parse({"edges": ["skip_connect"] * 6})
    assert spec.cells_per_stage == _param("nb201", "cells_per_stage").default
    assert spec.channels == _param("nb201", "channels").default
    spec_cnn = macro_cnn.parse({"depth": 1, "width": 2, "op": ["skip"]})
    assert spec_cnn.dropout == _param("macro_cnn", "dropout").default


def _minimal(family: str) -> dict:
    return {"macro_cnn": {"depth": 2, "width": 4, "op": ["skip", "skip"]},
            "nb201": {"edges": ["skip_connect"] * 6},
            "mobilenet": {"depth": [1] * 4, "kernel": [3] * 4, "expansion": [1] * 4},
            "reference": {"network": "resnet8"}}[family]


@pytest.mark.parametrize("family,param", [
    (f.name, p) for f in catalog.FAMILIES.values() for p in f.params
    if p.kind in ("int", "number") and not p.is_list and not p.values
], ids=lambda v: getattr(v, "name", v))
def test_param_bounds_come_from_the_catalog(family: str, param: catalog.Param) -> None:
    base = _minimal(family)
    integer = param.kind == "int"
    ok = [param.minimum]
    if param.maximum is not None and not param.exclusive_maximum:
        ok.append(param.maximum)
    for value in ok:
        params = {**base, param.name: int(value) if integer else value}
        if param.name == "depth":
            params["op"] = ["skip"] * int(value)
        assert parse_params(family, params)[param.name] == value
    bad = [param.minimum - (1 if integer else 1e-9)]
    if param.maximum is not None:
        bad.append(param.maximum if param.exclusive_maximum else param.maximum + 1)
    if integer:
        bad.append(param.minimum + 0.5)
    for value in bad:
        with pytest.raises(ValueError, match=f"{family}: param '{param.name}' must be"):
            parse_params(family, {**base, param.name: value})


def test_ops_lists_follow_the_catalog_length() -> None:
    assert macro_cnn.parse({"depth": 2, "width": 4, "op": ["skip"] * 5}).ops == ["skip"] * 2
    with pytest.raises(ValueError, match="exactly 6"):
        nb201.parse({"edges": ["skip_connect"] * 7})
