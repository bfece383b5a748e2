"""Read YAML manifests as the API server would receive them, refusing what it would refuse.

`kubectl apply` turns YAML into JSON before the API server sees it, so a manifest is read
here into the same JSON values: whole floats become integers, timestamps become strings, and
non-finite numbers are refused (JSON has none). Reading is bounded, so hostile input is
refused in well under a second: files over the API server's object size limit are not read,
and YAML aliases may not expand past a fixed number of values (the "billion laughs" bomb).
Duplicate keys are errors, not "the last one wins".
"""

from __future__ import annotations

import codecs
import datetime
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_572_864  # etcd's default request limit: a larger object cannot be stored
MAX_VALUES = 200_000  # values after alias expansion; a full 64-parameter space has ~20,000
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class LoadError:
    """A problem reading a file, at a field path where one is known."""

    path: str
    message: str


class ManifestTooLarge(ValueError):
    pass


def read_text(path: Path) -> str:
    """The file's text: UTF-8, or UTF-16/32 with a byte-order mark (as YAML allows)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ManifestTooLarge(f"the file is {size / 2**20:.1f} MiB; a NASExperiment must stay "
                               f"under {MAX_BYTES / 2**20:.1f} MiB, the API server's object "
                               "size limit")
    data = path.read_bytes()
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not {encoding.upper().removesuffix('-SIG')} text (byte "
                         f"{exc.start}); save the manifest as UTF-8") from None


def documents(text: str) -> tuple[list[Any], list[LoadError]]:
    """Every YAML document as JSON values, and the problems that make the text unusable."""
    loader = yaml.SafeLoader(text)
    try:
        nodes: list[yaml.Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        errors: list[LoadError] = []
        budget = [MAX_VALUES]
        for node in nodes:
            errors += _walk(node, "", budget)
            if budget[0] < 0:
                return [], [LoadError("", f"YAML aliases expand to more than {MAX_VALUES:,} "
                                          "values; write the values out, or use fewer aliases")]
        if errors:
            return [], errors
        docs = [_json(loader.construct_document(n), "") for n in nodes]
    except yaml.YAMLError as exc:
        return [], [LoadError("", _yaml_error(exc))]
    except _NotJSON as exc:
        return [], [LoadError(exc.path, exc.message)]
    finally:
        loader.dispose()
    return [d for d in docs if d is not None], []


def _yaml_error(exc: yaml.YAMLError) -> str:
    """One line: where, and what the parser found."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"not valid YAML{where}: {problem}" + (f" ({context})" if context else "")


def _walk(node: yaml.Node, path: str, budget: list[int]) -> list[LoadError]:
    """Duplicate keys below node; counts every value (aliases again each time) in budget."""
    budget[0] -= 1
    if budget[0] < 0:
        return []
    errors: list[LoadError] = []
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _walk(item, f"{path}[{i}]", budget)
    elif isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            if key.tag == "tag:yaml.org,2002:merge":
                errors += _walk(value, path, budget)
                continue
            if name in seen and isinstance(key, yaml.ScalarNode):
                errors.append(LoadError(child, f"duplicate key (line {key.start_mark.line + 1}; "
                                               f"first at line {seen[name] + 1}); keep one"))
            seen.setdefault(name, key.start_mark.line)
            errors += _walk(value, child, budget)
    return errors


class _NotJSON(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def _json(value: Any, path: str) -> Any:
    """The value as kubectl sends it: JSON types only."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) or key is None:
                raise _NotJSON(path, f"mapping key {key!r} is not a string")
            name = _scalar_key(key)
            out[name] = _json(item, f"{path}.{name}" if path else name)
        return out
    if isinstance(value, list):
        return [_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotJSON(path, f"{value} is not a finite number (JSON has no NaN or "
                                 "infinity)")
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if isinstance(value, datetime.date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        raise _NotJSON(path, "binary values (!!binary) are not supported; use a string")
    return value


def _scalar_key(key: str | int | float | bool) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
