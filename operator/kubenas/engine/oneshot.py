"""One-shot search: one supernet trial, then its candidates retrained standalone.

The supernet trial (kind `supernet`) searches the whole space with shared weights in one
process or pod (`KUBENAS_SUPERNET`, docs/trial-contract.md). A supernet's shared-weight
scores rank candidates, but they are not what a candidate reaches trained alone, so the
engine then trains the best `retrain` of them as ordinary trials at the top budget, and
the best of those is the result, judged exactly like every other strategy's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kubenas.api import strategy_settings
from kubenas.api.trials import Trial, objective_value, trial_name
from kubenas.api.types import Experiment
from kubenas.space.oplist import split


def setting(exp: Experiment, name: str) -> Any:
    return strategy_settings.value(exp.strategy.name, exp.strategy.settings, name)


def request(exp: Experiment) -> dict[str, Any]:
    """KUBENAS_SUPERNET for this experiment: the method, the space and its settings."""
    settings = {k: v for k, v in exp.strategy.settings.items()
                if k not in ("supernetEpochs", "retrain")}
    return {"method": exp.strategy.name, "choices": split(exp.space).choices,
            "candidates": int(setting(exp, "retrain")), "settings": settings}


def supernet(trials: Sequence[Trial]) -> Trial | None:
    """The supernet trial that succeeded (the first; a failed one is retried as a new trial)."""
    return next((t for t in trials if t.kind == "supernet" and t.phase == "Succeeded"), None)


def candidates(exp: Experiment, trial: Trial) -> list[dict[str, Any]]:
    """The succeeded supernet's candidates as full architectures, best first."""
    ops = split(exp.space)
    found = (trial.derived or {}).get("candidates", [])
    return [ops.complete(c["params"]) for c in found][: int(setting(exp, "retrain"))]


def summary(exp: Experiment, trials: Sequence[Trial]) -> dict[str, Any] | None:
    """status.oneShot: the supernet trial, its weights and candidates, and how each
    candidate did retrained (None for multi-trial strategies)."""
    if not strategy_settings.STRATEGIES[exp.strategy.name].one_shot:
        return None
    runs = [t for t in trials if t.kind == "supernet"]
    if not runs:
        return {"method": exp.strategy.name}
    found = supernet(trials)
    shown = found or runs[-1]
    out: dict[str, Any] = {"method": exp.strategy.name, "trial": trial_name(exp.name, shown.index),
                           "phase": shown.phase}
    if found is None or not found.derived:
        return out
    ops = split(exp.space)
    derived = found.derived
    retrained = {json_key(t.arch): t for t in trials if t.kind == "train"}
    entries = []
    for entry, arch in zip(derived.get("candidates", []), candidates(exp, found), strict=False):
        item: dict[str, Any] = {"architecture": arch, "score": entry.get("score")}
        trial = retrained.get(json_key(arch))
        if trial is not None:
            item["trial"] = trial_name(exp.name, trial.index)
            value = objective_value(exp, trial)
            if value is not None:
                item["value"] = round(value, 6)
        entries.append({k: v for k, v in item.items() if v is not None})
    out.update(architecture=ops.complete(derived.get("architecture", {})), candidates=entries,
               weights=derived.get("weights", {}), weightKind=derived.get("weightKind"))
    return {k: v for k, v in out.items() if v is not None}


def json_key(arch: Any) -> str:
    return json.dumps(dict(arch), sort_keys=True)
