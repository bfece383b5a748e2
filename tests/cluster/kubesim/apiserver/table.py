"""The `meta.k8s.io/v1 Table` rendering that `kubectl get` asks for.

Custom resources get their CRD's `additionalPrinterColumns`, evaluated with a JSONPath
subset: `.a.b`, `.a[0]`, `.a[*].b` and filters like `.a[?(@.type=="Ready")].status`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]

_STEP = re.compile(
    r"\.([\w-]+)"  # .field
    r"|\[(\d+|\*)\]"  # [0] or [*]
    r"|\[\?\(@\.([\w.-]+)\s*==\s*(\"[^\"]*\"|'[^']*'|[\w.-]+)\)\]"  # [?(@.type=="Ready")]
)


def jsonpath(obj: Any, expr: str) -> list[Any]:
    """All values `expr` selects in `obj` (empty when a step finds nothing)."""
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1]
    values = [obj]
    pos = 0
    while pos < len(expr):
        m = _STEP.match(expr, pos)
        if not m:
            return []
        pos = m.end()
        name, index, fkey, fval = m.groups()
        nxt: list[Any] = []
        for v in values:
            if name is not None and isinstance(v, dict) and name in v:
                nxt.append(v[name])
            elif index == "*" and isinstance(v, list):
                nxt.extend(v)
            elif index is not None and index != "*" and isinstance(v, list) and int(
                    index) < len(v):
                nxt.append(v[int(index)])
            elif fkey is not None and isinstance(v, list):
                want = fval.strip("\"'")
                nxt.extend(i for i in v if isinstance(i, dict)
                           and str(_dig(i, fkey)) == want)
        values = nxt
    return values


def _dig(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def human_age(timestamp: str | None) -> str:
    """Like apimachinery's `duration.HumanDuration`, coarsened."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    return _human_seconds(int((datetime.now(UTC) - then).total_seconds()))


def _human_seconds(secs: int) -> str:
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    mins = secs // 60
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if mins < 180:
        return f"{mins}m"
    hours = mins // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _cell(values: list[Any], ctype: str) -> Any:
    if not values:
        return None
    if ctype == "date":
        return human_age(str(values[0]))
    if len(values) == 1:
        v = values[0]
        return v if not isinstance(v, dict | list) else json.dumps(v)
    return ",".join(str(v) for v in values)


def _age_column() -> dict[str, Any]:
    return {"name": "Age", "type": "string", "format": "", "priority": 0,
            "description": "CreationTimestamp is a timestamp representing the server time "
                           "when this object was created."}


NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "priority": 0,
               "description": "Name must be unique within a namespace."}


def _pod_cells(pod: Obj) -> list[Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount", 0)) for s in statuses)
    phase = (pod.get("status") or {}).get("reason") or (pod.get("status") or {}).get(
        "phase", "Pending")
    if pod["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    return [f"{ready}/{len(containers)}", phase, restarts]


def _column(name: str, ctype: str = "string") -> dict[str, Any]:
    return {"name": name, "type": ctype, "format": "", "priority": 0, "description": ""}


def _job_cells(job: Obj) -> list[str]:
    """`printJob`: STATUS, COMPLETIONS, DURATION."""
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 1) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    duration = ""
    if status.get("startTime"):
        start = _parse_time(status["startTime"])
        end = _parse_time(status["completionTime"]) if status.get("completionTime") else \
            datetime.now(UTC)
        duration = _human_seconds(int((end - start).total_seconds()))
    kinds = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in kinds:
        state = "Complete"
    elif "Failed" in kinds:
        state = "Failed"
    elif job["metadata"].get("deletionTimestamp"):
        state = "Terminating"
    elif "Suspended" in kinds:
        state = "Suspended"
    elif "FailureTarget" in kinds:
        state = "FailureTarget"
    elif "SuccessCriteriaMet" in kinds:
        state = "SuccessCriteriaMet"
    else:
        state = "Running"
    return [state, completions, duration]


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _quota_cells(rq: Obj) -> list[str]:
    """`printResourceQuota`: used/hard per resource, limits.* in the second column."""
    status = rq.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    columns: tuple[list[str], list[str]] = ([], [])
    for name in sorted(hard):
        column = columns[1] if name.split(".")[0] == "limits" and "." in name else columns[0]
        column.append(f"{name}: {used.get(name, '0')}/{hard[name]}")
    return [", ".join(columns[0]), ", ".join(columns[1])]


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


BUILTIN_COLUMNS: dict[str, tuple[list[dict[str, Any]], Any]] = {
    "pods": (
        [{"name": "Ready", "type": "string", "format": "", "priority": 0, "description": ""},
         {"name": "Status", "type": "string", "format": "", "priority": 0, "description": ""},
         {"name": "Restarts", "type": "string", "format": "", "priority": 0, "description": ""}],
        _pod_cells,
    ),
    "namespaces": (
        [{"name": "Status", "type": "string", "format": "", "priority": 0, "description": ""}],
        lambda ns: [(ns.get("status") or {}).get("phase", "Active")],
    ),
    "poddisruptionbudgets": (
        [_column("Min Available"), _column("Max Unavailable"),
         _column("Allowed Disruptions", "integer")],
        lambda pdb: [_int_or_string((pdb.get("spec") or {}).get("minAvailable")),
                     _int_or_string((pdb.get("spec") or {}).get("maxUnavailable")),
                     (pdb.get("status") or {}).get("disruptionsAllowed", 0)],
    ),
    "jobs": (
        [_column("Status"), _column("Completions"), _column("Duration")],
        lambda job: _job_cells(job),
    ),
    "resourcequotas": (
        [_age_column(), _column("Request"), _column("Limit")],
        lambda rq: [human_age(rq["metadata"].get("creationTimestamp")), *_quota_cells(rq)],
    ),
    "leases": (
        [{"name": "Holder", "type": "string", "format": "", "priority": 0,
          "description": "holderIdentity contains the identity of the holder of a current "
                         "lease."}],
        lambda lease: [(lease.get("spec") or {}).get("holderIdentity", "")],
    ),
}


def to_table(rt: ResourceType, objects: list[Obj], list_meta: dict[str, Any]) -> Obj:
    columns: list[dict[str, Any]] = [NAME_COLUMN]
    if rt.crd and rt.printer_columns:
        for col in rt.printer_columns:
            columns.append({
                "name": col["name"], "type": col.get("type", "string"),
                "format": col.get("format", ""), "priority": col.get("priority", 0),
                "description": col.get("description", ""),
            })

        def cells(obj: Obj) -> list[Any]:
            return [_cell(jsonpath(obj, c["jsonPath"]), c.get("type", "string"))
                    for c in rt.printer_columns]
    elif rt.plural in BUILTIN_COLUMNS and not rt.crd:
        extra, cells = BUILTIN_COLUMNS[rt.plural]
        base_cells = cells
        if any(c["name"] == "Age" for c in extra):  # the kind places its own age column
            columns += extra
        else:
            columns += [*extra, _age_column()]

            def cells(obj: Obj) -> list[Any]:
                return [*base_cells(obj), human_age(obj["metadata"].get("creationTimestamp"))]
    else:
        columns.append(_age_column())

        def cells(obj: Obj) -> list[Any]:
            return [human_age(obj["metadata"].get("creationTimestamp"))]

    rows = [{
        "cells": [obj["metadata"]["name"], *cells(obj)],
        "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": obj["metadata"]},
    } for obj in objects]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": columns, "rows": rows}
