"""Names, labels and owner references shared by everything the operator writes."""

from __future__ import annotations

from typing import Any

from kubenas.api.schema import GROUP, IMMUTABLE, VERSION

Obj = dict[str, Any]

EXPERIMENTS = "nasexperiments"
TRIALS = "nastrials"
API_VERSION = f"{GROUP}/{VERSION}"
EXPERIMENT_LABEL = "kubenas.io/experiment"
TRIAL_LABEL = "kubenas.io/trial"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kubenas"}
SEARCH_HASH = "kubenas.io/search-hash"  # annotation: immutable spec fields as first seen
IMMUTABLE_FIELDS = IMMUTABLE


def labels(experiment: str, trial: str | None = None) -> dict[str, str]:
    out = {EXPERIMENT_LABEL: experiment, **MANAGED_BY}
    if trial is not None:
        out[TRIAL_LABEL] = trial
    return out


def selector(experiment: str, trials: list[str] | None = None) -> str:
    """The experiment's objects, or only those of the named trials."""
    out = f"{EXPERIMENT_LABEL}={experiment}"
    return f"{out},{TRIAL_LABEL} in ({','.join(trials)})" if trials else out


def owner_reference(obj: Obj) -> Obj:
    """The controller reference that makes the garbage collector cascade deletions."""
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_name(trial: str, attempt: int) -> str:
    return f"{trial}-a{attempt}"
