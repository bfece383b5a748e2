"""NASTrial objects <-> the engine's `Trial` records.

The NASTrial list is the whole search state: the engine rebuilds its decisions from it, so
the conversion must be lossless for everything the engine reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kubenas.api.trials import Trial, trial_name
from kubenas.api.types import Experiment
from kubenas.backends.contract import trial_seed
from kubenas.backends.kubernetes.objects import (
    API_VERSION,
    Obj,
    labels,
    owner_reference,
)
from kubenas.backends.kubernetes.timefmt import parse_time
from kubenas.engine.engine import NewTrial

CURVE_LIMIT = 50


def index_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def to_record(obj: Obj) -> Trial:
    spec, status = obj["spec"], obj.get("status") or {}
    parent = spec.get("parent")
    return Trial(
        index=int(spec["index"]), arch=dict(spec["architecture"]), budget=float(spec["budget"]),
        rung=int(spec.get("rung", 0)), parent=index_of(parent) if parent else None,
        phase=status.get("phase") or "Pending",
        metrics={k: float(v) for k, v in (status.get("metrics") or {}).items()},
        reason=status.get("reason"), message=status.get("message"),
        curve=tuple(float(v) for v in status.get("curve") or ()),
        attempt=int(status.get("attempt") or 0),
        started_at=parse_time(status.get("startTime")),
        finished_at=parse_time(status.get("completionTime")),
        kind=spec.get("kind") or "train", request=spec.get("request"),
        derived=status.get("derived"),
    )


def history(objs: Sequence[Obj], convert: Callable[[Obj], Trial] = to_record) -> list[Trial]:
    """Records in index order; stops at the first gap (a NASTrial deleted by hand).

    Trials are created in index order, one at a time, so an operator crash leaves a prefix;
    only a manual deletion makes a gap, and the engine then re-proposes from there.
    """
    by_index = {int(o["spec"]["index"]): o for o in objs}
    out: list[Trial] = []
    while len(out) in by_index:
        out.append(convert(by_index[len(out)]))
    return out


def manifest(exp: Experiment, owner: Obj, trials: Sequence[Trial], new: NewTrial) -> Obj:
    """The NASTrial for a decision to start a trial; `trials` already includes it."""
    name = trial_name(exp.name, new.index)
    record = trials[new.index]
    spec: Obj = {"experiment": exp.name, "index": new.index, "family": exp.space.family,
                 "architecture": dict(new.arch), "budget": new.budget, "rung": new.rung,
                 "seed": trial_seed(exp, trials, record)}
    if new.parent is not None:
        spec["parent"] = trial_name(exp.name, new.parent)
    if new.kind != "train":
        spec.update(kind=new.kind, request=dict(new.request or {}))
    return {"apiVersion": API_VERSION, "kind": "NASTrial",
            "metadata": {"name": name, "namespace": exp.namespace,
                         "labels": labels(exp.name, name),
                         "ownerReferences": [owner_reference(owner)]},
            "spec": spec}
