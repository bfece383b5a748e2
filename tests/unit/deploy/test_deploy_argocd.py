"""The Argo CD health check, run by a real Lua interpreter against sample objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import CHART, run, tool

HEALTH = CHART / "files" / "argocd-health.lua"
# Argo CD runs the script as a chunk with the live object in the global `obj`.
HARNESS = """obj = {obj}
local hs = dofile({script})
io.write(hs.status, "\\t", hs.message or "")
"""


def lua(value: Any) -> str:
    """A Lua table literal for a JSON-like value."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    return json.dumps(value)


def health(obj: dict[str, Any]) -> tuple[str, str]:
    script = HARNESS.format(obj=lua(obj), script=json.dumps(str(HEALTH)))
    out = run(tool("lua5.4"), "-e", script).stdout
    status, message = out.split("\t", 1)
    return status, message


def experiment(status: dict[str, Any] | None, *, suspend: bool = False,
               generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
                           "metadata": {"name": "q", "generation": generation},
                           "spec": {"suspend": suspend}}
    if status is not None:
        obj["status"] = status
    return obj


def condition(kind: str, status: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": "R", "message": message,
            "lastTransitionTime": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(("obj", "expected"), [
    (experiment(None), "Progressing"),
    (experiment(None, suspend=True), "Suspended"),
    (experiment({"phase": "Pending", "observedGeneration": 1}), "Progressing"),
    (experiment({"phase": "Running", "progress": "3/20", "observedGeneration": 1}),
     "Progressing"),
    (experiment({"phase": "Succeeded", "observedGeneration": 1,
                 "bestTrial": {"name": "q-7"}}), "Healthy"),
    (experiment({"phase": "Failed", "observedGeneration": 1}), "Degraded"),
    (experiment({"phase": "Suspended", "observedGeneration": 1}), "Suspended"),
    (experiment({"phase": "Running", "observedGeneration": 1}, suspend=True), "Suspended"),
    (experiment({"phase": "Succeeded", "observedGeneration": 1}, generation=2), "Progressing"),
    (experiment({"phase": "Running", "observedGeneration": 1, "conditions": [
        condition("Stalled", "True", "the API server refused pod x: forbidden")]}),
     "Degraded"),
])
def test_phase_to_health(obj: dict[str, Any], expected: str) -> None:
    status, message = health(obj)
    assert status == expected
    assert message


def test_messages_come_from_conditions() -> None:
    failed = experiment({"phase": "Failed", "observedGeneration": 1, "conditions": [
        condition("Ready", "False", "not ready"),
        condition("Stalled", "True", "4 trials failed, more than budget.maxFailedTrials=3")]})
    assert health(failed) == ("Degraded", "4 trials failed, more than budget.maxFailedTrials=3")
    running = experiment({"phase": "Running", "progress": "7/20", "observedGeneration": 1})
    assert health(running) == ("Progressing", "Search running (7/20 trials)")
    done = experiment({"phase": "Succeeded", "observedGeneration": 1,
                       "bestTrial": {"name": "q-7"}})
    assert health(done) == ("Healthy", "Search finished; best trial q-7")
