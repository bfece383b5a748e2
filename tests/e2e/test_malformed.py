"""Malformed manifests are refused: by the API server (CRD schema and CEL) with a message
naming the field, or (the few cross-field rules a CRD cannot state) by the operator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import REPO, Kubectl, Operator, condition, wait_phase

pytestmark = pytest.mark.slow
CORPUS = sorted((REPO / "tests" / "unit" / "api" / "malformed").glob("*.yaml"))


# kubectl resolves apiVersion/kind itself and words that error its own way.
CLIENT_SIDE = {"apiVersion": "in version", "kind": "no matches for kind"}


def _names(field: str, stderr: str) -> bool:
    """Whether the error names the field; `a[key]` and `a.key` spell the same map entry."""
    if field in CLIENT_SIDE:
        return CLIENT_SIDE[field] in stderr
    return field in re.sub(r"\[([A-Za-z_][^\]]*)\]", r".\1", stderr)


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ").strip()


def test_every_malformed_manifest_is_refused(kubectl: Kubectl, operator: Operator) -> None:
    rejected, by_operator, wrong = 0, [], []
    for path in CORPUS:
        field = _expected(path)
        proc = kubectl("apply", "-f", str(path), check=False)
        if proc.returncode != 0:
            rejected += 1
            if not _names(field, proc.stderr):
                wrong.append(f"{path.name}: expected {field!r} in {proc.stderr.strip()!r}")
            continue
        by_operator.append((path, field, proc.stdout.split()[0]))
    for path, field, ref in by_operator:
        obj = wait_phase(kubectl, ref.split("/")[-1], ("Failed",), timeout=30)
        message = condition(obj, "Failed")["message"]
        if condition(obj, "Ready")["reason"] != "InvalidSpec" or field not in message:
            wrong.append(f"{path.name}: operator said {message!r}, expected {field!r}")
    assert not wrong, "\n".join(wrong)
    assert rejected >= 30, f"only {rejected} of {len(CORPUS)} refused by kubectl apply"
