"""Search spaces of the per-stage (mobilenet) and baseline (reference) families: what the
schema's rules refuse, with which message, and what `value_problems` adds for choices."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kubenas.api.builtin_trainer import value_problems
from kubenas.api.parse import ManifestError, parse

STAGES = [{"name": "depth", "int": {"min": 1, "max": 3}, "repeat": 4},
          {"name": "kernel", "choice": [3, 5, 7], "repeat": 4},
          {"name": "expansion", "choice": [1, 3, 6], "repeat": 4},
          {"name": "se", "choice": [False, True], "repeat": 4},
          {"name": "width_multiplier", "choice": [0.5, 1.0]}]


def manifest(family: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "m"}, "spec": {
                "objective": {"metric": "val_accuracy"},
                "searchSpace": {"family": family, "parameters": parameters}}}


def with_param(index: int, **fields: Any) -> list[dict[str, Any]]:
    """STAGES with one parameter's fields changed (None removes a field)."""
    params = copy.deepcopy(STAGES)
    params[index] = {k: v for k, v in {**params[index], **fields}.items() if v is not None}
    return params


def refusal(body: dict[str, Any]) -> str:
    with pytest.raises(ManifestError) as caught:
        parse(body, source="x.yaml")
    return str(caught.value)


def test_a_mobilenet_space_is_accepted_and_its_values_are_in_bounds() -> None:
    exp = parse(manifest("mobilenet", STAGES))
    assert value_problems(exp) == []
    exp = parse(manifest("reference", [{"name": "network", "choice": ["lenet5", "resnet8"]}]))
    assert value_problems(exp) == []


@pytest.mark.parametrize("params,message", [
    (with_param(1, choice=[3, 4]), "mobilenet parameter kernel must be a choice of 3, 5, 7, "
     "repeated 4 times"),
    (with_param(1, repeat=None), "mobilenet parameter kernel must be a choice of 3, 5, 7, "
     "repeated 4 times"),
    (with_param(2, repeat=3), "mobilenet parameter expansion must be a choice of 1, 3, 6"),
    (with_param(3, choice=[0, 1]), "mobilenet parameter se must be a choice of true, false"),
    (with_param(0, int={"min": 1, "max": 7}), "mobilenet parameter depth must be an int range "
     "within 1..6, or a choice, repeated 4 times"),
    (with_param(4, repeat=4), "mobilenet parameter width_multiplier must be a range within "
     "0.1..4, or a choice, and not repeated"),
    (STAGES[1:], "mobilenet needs the parameters depth, kernel, expansion"),
])
def test_bad_mobilenet_spaces_are_refused_at_the_parameters(params: list[dict[str, Any]],
                                                           message: str) -> None:
    text = refusal(manifest("mobilenet", params))
    assert f"x.yaml: spec.searchSpace.parameters: {message}" in text


def test_a_bad_reference_network_is_refused() -> None:
    text = refusal(manifest("reference", [{"name": "network", "choice": ["alexnet"]}]))
    assert "reference parameter network must be a choice of lenet5, vgg_small, mobilenet_v2, " \
        "resnet8, and not repeated" in text


def test_out_of_bounds_choices_are_found_at_their_index() -> None:
    params = with_param(0, int=None, choice=[1, 9])
    params[4]["choice"] = [0.05, 1.0]
    problems = value_problems(parse(manifest("mobilenet", params)))
    assert problems == [
        ("spec.searchSpace.parameters[0].choice[1]", "9 is not valid for mobilenet parameter "
         "depth: must be an integer within 1..6"),
        ("spec.searchSpace.parameters[4].choice[0]", "0.05 is not valid for mobilenet "
         "parameter width_multiplier: must be a number within 0.1..4"),
    ]
