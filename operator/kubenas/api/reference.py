"""Render the NASExperiment field reference (docs/experiment-reference.md) from the schema.

`python -m kubenas.api.reference` rewrites the file; a test fails when it is stale, so the
docs can never drift from what the validator and the CRD accept.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubenas.api.openapi import Schema
from kubenas.api.schema import experiment_spec_schema

TARGET = Path("docs/experiment-reference.md")
HEADER = """# NASExperiment reference

`apiVersion: kubenas.io/v1alpha1`, `kind: NASExperiment`. Generated from
`operator/kubenas/api/schema.py` by `python -m kubenas.api.reference`; do not edit by hand.
`kubectl explain nasexperiment.spec` shows the same text on a cluster.

| field | type | default | description |
| --- | --- | --- | --- |
"""


def _type(schema: Schema) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int or string"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema['items'])}"
    if kind == "object" and "additionalProperties" in schema:
        return "map of string"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return str(kind)


def _rows(schema: Schema, path: str) -> Iterator[tuple[str, str, str, str]]:
    for name, child in schema.get("properties", {}).items():
        here = f"{path}.{name}"
        default: Any = child.get("default", "")
        shown = "" if default in ("", {}) else f"`{default}`"
        text = child.get("description", "")
        rules = [r["message"] for r in child.get("x-kubernetes-validations", [])]
        if rules:
            text += " Rules: " + "; ".join(rules) + "."
        yield here, _type(child), shown, text.replace("|", "\\|")
        if child.get("type") == "object":
            yield from _rows(child, here)
        elif child.get("type") == "array" and child["items"].get("type") == "object":
            yield from _rows(child["items"], here + "[]")


def render() -> str:
    rows = "".join(f"| `{p}` | {t} | {d} | {x} |\n"
                   for p, t, d, x in _rows(experiment_spec_schema(), "spec"))
    return HEADER + rows


def main() -> int:
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
