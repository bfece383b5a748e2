"""Property-based: whatever a manifest holds, parsing ends in an Experiment or a ManifestError.

Values are drawn from everything YAML can give after kubectl's JSON conversion, both as
whole specs and as single fields of valid manifests replaced by anything; an accepted
manifest must also be one the engine can decide on.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubenas.api.parse import ManifestError, parse
from kubenas.api.trials import Trial
from kubenas.engine.engine import Engine

from tests.corpus import ACCEPTED

SCALARS = st.none() | st.booleans() | st.integers(-2**63, 2**63) | \
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) |
                    st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
BASES = [yaml.safe_load(p.read_text()) for p in ACCEPTED if p.stem in (
    "strategy-bo", "nb201-cell", "fidelity-levels", "two-objectives", "custom-trainer-family",
    "float-log-range", "dropout-choice", "strategy-grid")]
PROFILE = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


def _parse(manifest: Any) -> object:
    try:
        return parse(manifest, source="x.yaml")
    except ManifestError as exc:
        assert exc.errors and all(str(e) for e in exc.errors)
        assert all(line.startswith("x.yaml: ") for line in str(exc).splitlines())
        return exc


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@PROFILE
@given(spec=JSON)
def test_any_spec_is_refused_or_accepted_never_crashes(spec: Any) -> None:
    _parse({"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "p"}, "spec": spec})


@PROFILE
@given(base=st.sampled_from(BASES), data=st.data(), value=JSON)
def test_any_field_replaced_by_anything(base: dict[str, Any], data: st.DataObject,
                                        value: Any) -> None:
    manifest = copy.deepcopy(base)
    path = data.draw(st.sampled_from(_paths(manifest["spec"])[1:]))
    target = manifest["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    result = _parse(manifest)
    if not isinstance(result, ManifestError):
        engine = Engine(result)  # type: ignore[arg-type]
        decision = engine.decide([])
        trials = [Trial(n.index, n.arch, n.budget, phase="Succeeded",
                        metrics={o.metric: 0.5 for o in result.objective.all})  # type: ignore[attr-defined]
                  for n in decision.create]
        engine.decide(trials)
