"""Refusing edits to the search once trials exist, even where the CRD's CEL rule is absent.

The API server rejects such edits (CEL transition rules on the CRD). The operator checks
again because a CRD without the rules, or an edit made while status was empty, would
otherwise silently change the search under finished trials. The fields' hashes as first seen
live in an annotation, not in memory, so the check survives restarts.
"""

from __future__ import annotations

import hashlib
import json

from kubenas.backends.kubernetes.objects import IMMUTABLE_FIELDS, SEARCH_HASH, Obj


def hashes(spec: Obj) -> dict[str, str]:
    return {f: hashlib.sha256(json.dumps(spec.get(f), sort_keys=True).encode()).hexdigest()[:16]
            for f in IMMUTABLE_FIELDS}


def recorded(manifest: Obj) -> dict[str, str] | None:
    text = (manifest["metadata"].get("annotations") or {}).get(SEARCH_HASH)
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def changed(manifest: Obj) -> list[str]:
    """The immutable fields that differ from the recorded ones (none when nothing recorded;
    a field an older operator did not record is recorded now, not judged)."""
    before = recorded(manifest)
    if before is None:
        return []
    now = hashes(manifest["spec"])
    return [f"spec.{f}" for f in IMMUTABLE_FIELDS if f in before and before[f] != now[f]]


def annotation_patch(manifest: Obj, started: bool) -> Obj | None:
    """The metadata patch that records the current hashes (once trials exist, only of fields
    not yet recorded), or None when there is nothing to record."""
    before = recorded(manifest) or {}
    current = {**hashes(manifest["spec"]), **(before if started else {})}
    if before == current:
        return None
    return {"metadata": {"annotations": {SEARCH_HASH: json.dumps(current, sort_keys=True)}}}
