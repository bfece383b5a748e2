"""Render the NASExperiment field reference (docs/experiment-reference.md) from the schema.

`python -m kubenas.api.reference` rewrites the file; a test fails when it is stale, so the
docs can never drift from what the validator and the CRD accept.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kubenas_trainer.catalog import FAMILIES

from kubenas.api.builtin_trainer import searched_as
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


FAMILIES_HEADER = """
## Built-in trainer families

`spec.searchSpace.family` and the parameters the built-in trainer accepts for it (from
`trainer_image/kubenas_trainer/catalog.py`). A parameter without a default must be searched
(a one-value `choice` fixes it). See [families.md](families.md) for what each network is.
"""


def _families() -> Iterator[str]:
    for family in FAMILIES.values():
        yield f"\n### `{family.name}`\n\n{family.description}\n\n"
        yield "| parameter | search it as | default | description |\n| --- | --- | --- | --- |\n"
        for p in family.params:
            default = "" if p.required else f"`{json.dumps(p.default)}`"
            yield f"| `{p.name}` | {searched_as(p)} | {default} | {p.description} |\n"


def render() -> str:
    rows = "".join(f"| `{p}` | {t} | {d} | {x} |\n"
                   for p, t, d, x in _rows(experiment_spec_schema(), "spec"))
    return HEADER + rows + FAMILIES_HEADER + "".join(_families())


def main() -> int:
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
