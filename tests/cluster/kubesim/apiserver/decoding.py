"""Request bodies decoded the way the API server's Go decoders see them.

Python's `json` accepts `NaN`, `Infinity` and `-Infinity` and turns `1e999` into infinity;
Go's `encoding/json` (and sigs.k8s.io/json, which the API server uses) refuses all of them,
so a real server answers such a body with 400 BadRequest and never stores it. The message
depends on which decoder met the body first:

- create, update (and the Eviction subresource) decode into the kind after reading
  `apiVersion`/`kind` (`json.DefaultMetaFactory.Interpret`); `handlers.transformDecodeError`
  wraps that: `the object provided is unrecognized (must be of type Pod): couldn't get
  version/kind; json parse error: invalid character 'N' looking for beginning of value
  ({"apiVersion":"v1","kind":"Pod ...)`;
- merge and JSON patches are read by `kjson.UnmarshalStrict` when fieldValidation is Warn
  (the default) or Strict: `error decoding patch: invalid character ...`; with Ignore,
  `jsonpatch` answers (`Invalid JSON Patch` for a merge patch);
- a strategic merge patch: the decoder's message alone;
- server-side apply reads YAML: `.nan`/`.inf` fail its conversion to JSON,
  `error decoding YAML: error converting YAML to JSON: json: unsupported value: NaN`;
- a DELETE body (DeleteOptions) is decoded without transformation: 500, reason Unknown.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from .errors import ApiError

# What Go's JSON scanner says at the first character of each token Python accepts.
_TOKENS = {
    "NaN": "invalid character 'N' looking for beginning of value",
    "Infinity": "invalid character 'I' looking for beginning of value",
    "-Infinity": "invalid character 'I' in numeric literal",
}


class GoDecodeError(ValueError):
    """A body Python decodes but Go does not; `message` is Go's."""

    def __init__(self, message: str, syntax: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.syntax = syntax  # a scanner error (vs. a value Go cannot represent)


def _constant(token: str) -> Any:
    raise GoDecodeError(_TOKENS[token])


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise GoDecodeError(f"json: cannot unmarshal number {text} into Go value of type "
                            "float64", syntax=False)
    return value


def load_json(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_constant, parse_float=_float)


def _go_float(value: float) -> str:
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def _non_finite(value: Any) -> float | None:
    if isinstance(value, float) and not math.isfinite(value):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(
        value, list) else ()
    for item in items:
        found = _non_finite(item)
        if found is not None:
            return found
    return None


def load_apply_yaml(raw: bytes) -> Any:
    value = yaml.safe_load(raw)
    bad = _non_finite(value)
    if bad is not None:
        raise GoDecodeError(f"error converting YAML to JSON: json: unsupported value: "
                            f"{_go_float(bad)}", syntax=False)
    return value


def _summary(raw: bytes) -> str:
    """`handlers.summarizeData(body, 30)`."""
    if raw[:1] == b"{":
        text = raw.decode(errors="replace")
        return text[:30] + " ..." if len(raw) > 30 else text
    return raw[:30].hex() + (" ..." if len(raw) > 30 else "")


def refusal(err: GoDecodeError, method: str, patch_type: str | None, into: str, raw: bytes,
            validation: str = "Warn", version: str = "v1") -> ApiError:
    """The Status a real server answers for a body its decoder refused."""
    if method == "DELETE":
        message = err.message
        if err.syntax:
            message = f"couldn't get version/kind; json parse error: {message}"
        return ApiError(500, message, reason="Unknown")
    if method == "PATCH":
        if patch_type == "apply":
            return ApiError(400, f"error decoding YAML: {err.message}")
        if patch_type == "strategic":
            return ApiError(400, err.message)
        if validation in ("Warn", "Strict"):
            return ApiError(400, f"error decoding patch: {err.message}")
        if patch_type == "merge":
            return ApiError(400, "Invalid JSON Patch")
        return ApiError(400, err.message)
    if not err.syntax:
        # The kind was read; the number failed when the body was decoded into the object.
        doc = json.loads(raw)
        kind = doc.get("kind") or into if isinstance(doc, dict) else into
        api_version = (doc.get("apiVersion") if isinstance(doc, dict) else None) or version
        return ApiError(400, f'{kind} in version "{api_version.rsplit("/", 1)[-1]}" cannot be '
                             f"handled as a {into}: {err.message}")
    return ApiError(400, f"the object provided is unrecognized (must be of type {into}): "
                         f"couldn't get version/kind; json parse error: {err.message} "
                         f"({_summary(raw)})")
