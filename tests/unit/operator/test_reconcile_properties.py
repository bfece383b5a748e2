"""Property-based: whatever manifest the CRD accepts, a reconcile handles without a traceback.

Manifests are drawn as valid ones with a field replaced by anything; those the validator
(the CRD's schema and rules) refuses are skipped, since the API server would never store
them. Every accepted one must reconcile to a status, InvalidSpec included, never raise.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kubenas.api.parse import ManifestError, parse

from tests.corpus import ACCEPTED
from tests.unit.properties.test_parse_properties import JSON, _paths

from .conftest import NS, World

BASES = [yaml.safe_load(p.read_text()) for p in ACCEPTED if p.stem in (
    "trial-template-cluster", "strategy-bo", "nb201-cell", "fidelity-levels", "two-objectives",
    "dropout-choice", "constraints", "durations", "goal-and-suspend")]
GPU_AWARE = {"budget": {"maxTrials": 3, "maxParallelTrials": 2, "gpuAware": True},
             "trialTemplate": {"resources": {"limits": {"nvidia.com/gpu": 1}}}}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(base=st.sampled_from(BASES), data=st.data(), gpu=st.booleans(),
       value=JSON | st.sampled_from([0, 1, 3, 0.5, -1, "1Gi", "lots", "x", True, [], {}, [{}],
                                     {"name": "a"}, [{"name": "a", "hostPath": {"path": "/"}}]]))
def test_any_accepted_manifest_reconciles(base: dict[str, Any], data: st.DataObject,
                                          value: Any, gpu: bool) -> None:
    manifest = copy.deepcopy(base)
    manifest["metadata"]["namespace"] = NS
    if gpu:
        manifest["spec"].update(copy.deepcopy(GPU_AWARE))
    path = data.draw(st.sampled_from(_paths(manifest["spec"])[1:]))
    target = manifest["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        parse(manifest)
    except ManifestError:
        assume(False)
    world = World(manifest)
    for _ in range(3):
        world.reconcile()
        world.kubelet.step()
    assert world.status().get("phase") in ("Pending", "Running", "Succeeded", "Failed",
                                           "Suspended")
