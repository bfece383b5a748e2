"""The edge-device families: every mobilenet choice and every reference network builds,
trains a step on 8x8 and 28x28 inputs and keeps to the catalog; bad params name themselves."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubenas_trainer import catalog
from kubenas_trainer.models import build_model, check_architecture, mobilenet, reference
from kubenas_trainer.models.ops import InvertedResidual, SqueezeExcite

from .steps import SHAPES, train_one_step

STAGES = catalog.STAGES
SMALL = {"depth": [1] * STAGES, "kernel": [3] * STAGES, "expansion": [3] * STAGES,
         "width_multiplier": 0.25}


def _param(family: str, name: str) -> catalog.Param:
    param = catalog.FAMILIES[family].param(name)
    assert param is not None
    return param


def _values(param: catalog.Param) -> list[object]:
    """Every value of a mobilenet param; the ends of a range (for the width, the smallest
    and the published network's: wider is only slower)."""
    if param.kind == "bool":
        return [False, True]
    if param.values:
        return list(param.values)
    low, high = param.minimum or 0, param.maximum or 0
    return [int(low), int(high)] if param.kind == "int" else [low, 1.0]


CHOICES = [(p.name, [v] * STAGES if p.is_list else v)
           for p in catalog.MOBILENET.params for v in _values(p)]


@pytest.mark.parametrize("in_shape", SHAPES, ids=["8x8", "28x28"])
@pytest.mark.parametrize("name,value", CHOICES, ids=str)
def test_every_mobilenet_choice_trains(name: str, value: object,
                                       in_shape: tuple[int, int, int]) -> None:
    params = {**SMALL, name: value}
    train_one_step(build_model("mobilenet", params, in_shape, 10), in_shape)


@pytest.mark.parametrize("in_shape", SHAPES, ids=["8x8", "28x28"])
@pytest.mark.parametrize("network", _param("reference", "network").values)
def test_every_reference_network_trains(network: str, in_shape: tuple[int, int, int]) -> None:
    for width in (0.25, 1.0):
        model = build_model("reference", {"network": network, "width_multiplier": width},
                            in_shape, 10)
        train_one_step(model, in_shape)


STAGE_LISTS = {name: st.lists(st.sampled_from(values), min_size=STAGES, max_size=STAGES)
               for name, values in (("kernel", (3, 5, 7)), ("expansion", (1, 3, 6)),
                                    ("depth", (1, 2, 3)), ("se", (False, True)))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=st.fixed_dictionaries(STAGE_LISTS, optional={
    "width_multiplier": st.sampled_from((0.1, 0.25, 0.5)),
    "input_downscale": st.integers(1, 8)}), in_shape=st.sampled_from(SHAPES))
def test_random_mobilenet_architectures_train(arch: dict, in_shape: tuple[int, int, int]) -> None:
    model = build_model("mobilenet", arch, in_shape, 10)
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == sum(arch["depth"])
    assert sum(isinstance(m, SqueezeExcite) for m in model.modules()) == \
        sum(d for d, se in zip(arch["depth"], arch["se"], strict=True) if se)
    train_one_step(model, in_shape)


def test_mobilenet_blocks_follow_their_stage() -> None:
    params = {"depth": [2, 1, 1, 3], "kernel": [3, 5, 7, 5], "expansion": [1, 3, 6, 6],
              "se": [False, True, False, True]}
    model = build_model("mobilenet", params, (1, 28, 28), 10)
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    # Only blocks after a stage's first keep the shape and add their input.
    assert [b.residual for b in blocks] == [False, True, False, False, False, True, True]
    depthwise = [m for m in model.modules()
                 if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert [m.kernel_size[0] for m in depthwise] == [3, 3, 5, 7, 5, 5, 5]
    assert len(blocks[0].block) == 2  # expansion 1: no 1x1 expansion conv before depthwise
    assert len(blocks[-1].block) == 4  # expansion conv, depthwise, SE, projection


@pytest.mark.parametrize("in_shape,factor,final", [
    ((1, 8, 8), 1, 1), ((1, 28, 28), 1, 4), ((1, 28, 28), 2, 2), ((1, 28, 28), 3, 2),
    ((1, 8, 8), 8, 1)])
def test_input_downscale_shrinks_what_the_stem_sees(in_shape: tuple[int, int, int],
                                                    factor: int, final: int) -> None:
    model = build_model("mobilenet", {**SMALL, "input_downscale": factor}, in_shape, 10)
    seen: dict[str, torch.Size] = {}

    def stem_input(module: torch.nn.Module, args: tuple[torch.Tensor], out: object) -> None:
        seen["stem"] = args[0].shape

    def head_output(module: torch.nn.Module, args: object, out: torch.Tensor) -> None:
        seen["head"] = out.shape

    model.features[1].register_forward_hook(stem_input)
    model.features[-2].register_forward_hook(head_output)
    model(torch.randn(2, *in_shape))
    side = -(-in_shape[1] // factor)
    assert seen["stem"][2:] == (side, side)
    assert seen["head"][2:] == (final, final)


def test_mobilenet_exports_without_data_dependent_branches() -> None:
    params = {"depth": [2, 2, 1, 1], "kernel": [3, 5, 7, 3], "expansion": [1, 3, 6, 3],
              "se": [True, False, True, False], "input_downscale": 2}
    model = build_model("mobilenet", params, (1, 28, 28), 10).eval()
    x = torch.randn(2, 1, 28, 28)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), model(x))


def test_reference_networks_keep_their_published_size() -> None:
    def params(network: str, shape: tuple[int, int, int], classes: int) -> int:
        model = build_model("reference", {"network": network}, shape, classes)
        return sum(p.numel() for p in model.parameters())

    assert params("mobilenet_v2", (3, 224, 224), 1000) == 3_504_872  # torchvision's count
    assert params("lenet5", (1, 28, 28), 10) == 61_706  # 28x28 padded to LeNet's 32x32


def test_mobilenet_v2_keeps_resolution_longer_on_small_inputs() -> None:
    strides = {}
    for side in (28, 64):
        model = build_model("reference", {"network": "mobilenet_v2"}, (1, side, side), 10)
        strides[side] = [m.stride[0] for m in model.modules()
                         if isinstance(m, torch.nn.Conv2d) and m.stride[0] == 2]
    assert len(strides[28]) == 3 and len(strides[64]) == 5


@pytest.mark.parametrize("family,params,message", [
    ("mobilenet", {**SMALL, "kernel": [3, 4, 5, 7]},
     "mobilenet: param 'kernel' must be a list of exactly 4 values, each one of [3, 5, 7], "
     "got 4"),
    ("mobilenet", {**SMALL, "expansion": [1, 3, 6]},
     "param 'expansion' must be a list of exactly 4 values, each one of [1, 3, 6]"),
    ("mobilenet", {**SMALL, "depth": [1, 0, 1, 1]}, "param 'depth' must be a list of exactly 4 "
     "values, each an integer 1..6, got 0"),
    ("mobilenet", {**SMALL, "depth": [1, True, 1, 1]}, "param 'depth' must be a list"),
    ("mobilenet", {**SMALL, "se": [1, 0, 1, 0]}, "param 'se' must be a list of exactly 4 "
     "values, each true or false, got 1"),
    ("mobilenet", {**SMALL, "se": True}, "param 'se' must be a list"),
    ("mobilenet", {**SMALL, "input_downscale": 0}, "param 'input_downscale' must be an integer "
     "1..8"),
    ("mobilenet", {**SMALL, "width_multiplier": 0}, "param 'width_multiplier' must be a number"),
    ("mobilenet", {"depth": [1] * 4, "expansion": [1] * 4}, "param 'kernel' is required"),
    ("mobilenet", {**SMALL, "stride": [1] * 4}, "unknown params ['stride']"),
    ("reference", {"network": "alexnet"}, "reference: param 'network' must be one of "
     "['lenet5', 'vgg_small', 'mobilenet_v2', 'resnet8'], got 'alexnet'"),
    ("reference", {}, "param 'network' is required"),
    ("reference", {"network": "lenet5", "width_multiplier": 5}, "'width_multiplier'"),
])
def test_bad_params_name_themselves_and_the_valid_values(family: str, params: dict,
                                                         message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_architecture(family, params)
    with pytest.raises(ValueError, match=re.escape(message)):
        build_model(family, params, (1, 8, 8), 10)


def test_catalog_and_modules_agree() -> None:
    assert tuple(reference.NETWORKS) == _param("reference", "network").values
    assert len(mobilenet.STAGE_CHANNELS) == len(mobilenet.STAGE_STRIDES) == STAGES
    assert all(p.length == STAGES for p in catalog.MOBILENET.params if p.is_list)
    spec = mobilenet.parse({k: v for k, v in SMALL.items() if k != "width_multiplier"})
    assert spec.se == _param("mobilenet", "se").default
    assert spec.width_multiplier == _param("mobilenet", "width_multiplier").default
    assert spec.input_downscale == _param("mobilenet", "input_downscale").default
    assert reference.parse({"network": "resnet8"}).width_multiplier == \
        _param("reference", "width_multiplier").default


def test_whole_floats_count_as_stage_integers() -> None:
    """JSON from some clients writes 3 as 3.0; the trainer takes it, as for scalar ints."""
    assert mobilenet.parse({**SMALL, "kernel": [3.0, 5, 7, 3]}).kernel == [3, 5, 7, 3]
