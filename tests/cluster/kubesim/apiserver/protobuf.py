"""Decoding of the Kubernetes protobuf envelope for the few kinds typed clients send.

client-go 1.35 typed clientsets prefer protobuf request bodies for built-in kinds and do
not fall back on 415. helm stores releases in Secrets through such a client and kubectl's
imperative `create` commands use one, so those kinds are decoded here, by field number as
in `k8s.io/api/*/generated.proto`. Responses stay JSON (clients also accept it).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"

# A message spec maps field numbers to (json name, kind); kind is a scalar name, a nested
# spec (dict), ("map", value kind) or ("list", kind).
Spec = dict[int, tuple[str, Any]]

TIME: Spec = {1: ("seconds", "int"), 2: ("nanos", "int")}
OWNER_REF: Spec = {1: ("kind", "string"), 2: ("name", "string"), 3: ("uid", "string"),
                   4: ("apiVersion", "string"), 6: ("controller", "bool"),
                   7: ("blockOwnerDeletion", "bool")}
MANAGED: Spec = {1: ("manager", "string"), 2: ("operation", "string"),
                 3: ("apiVersion", "string"), 4: ("time", "time"),
                 6: ("fieldsType", "string"), 7: ("fieldsV1", "fieldsv1"),
                 8: ("subresource", "string")}
OBJECT_META: Spec = {
    1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
    5: ("uid", "string"), 6: ("resourceVersion", "string"), 7: ("generation", "int"),
    8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
    10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", ("map", "string")),
    12: ("annotations", ("map", "string")), 13: ("ownerReferences", ("list", OWNER_REF)),
    14: ("finalizers", ("list", "string")), 17: ("managedFields", ("list", MANAGED)),
}
NAME_REF: Spec = {1: ("name", "string")}
OBJECT_REF: Spec = {1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"),
                    4: ("uid", "string"), 5: ("apiVersion", "string"),
                    6: ("resourceVersion", "string"), 7: ("fieldPath", "string")}
DELETE_OPTIONS: Spec = {
    1: ("gracePeriodSeconds", "int"),
    2: ("preconditions", {1: ("uid", "string"), 2: ("resourceVersion", "string")}),
    3: ("orphanDependents", "bool"), 4: ("propagationPolicy", "string"),
    5: ("dryRun", ("list", "string")),
}
KINDS: dict[str, Spec] = {
    "Secret": {1: ("metadata", OBJECT_META), 2: ("data", ("map", "bytes")),
               3: ("type", "string"), 4: ("stringData", ("map", "string")),
               5: ("immutable", "bool")},
    "ConfigMap": {1: ("metadata", OBJECT_META), 2: ("data", ("map", "string")),
                  3: ("binaryData", ("map", "bytes")), 4: ("immutable", "bool")},
    "Namespace": {1: ("metadata", OBJECT_META),
                  2: ("spec", {1: ("finalizers", ("list", "string"))}),
                  3: ("status", {1: ("phase", "string")})},
    "ServiceAccount": {1: ("metadata", OBJECT_META), 2: ("secrets", ("list", OBJECT_REF)),
                       3: ("imagePullSecrets", ("list", NAME_REF)),
                       4: ("automountServiceAccountToken", "bool")},
    "Eviction": {1: ("metadata", OBJECT_META), 2: ("deleteOptions", DELETE_OPTIONS)},
    "DeleteOptions": DELETE_OPTIONS,
}
_ENVELOPE: Spec = {1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
                   2: ("raw", "bytes"), 3: ("contentEncoding", "string"),
                   4: ("contentType", "string")}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            out.append((number, buf[pos:pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return out


def _scalar(kind: Any, raw: int | bytes) -> Any:
    if isinstance(kind, dict):
        return _message(kind, raw)
    if kind == "string":
        return raw.decode() if isinstance(raw, bytes) else str(raw)
    if kind == "bytes":
        return base64.b64encode(raw).decode() if isinstance(raw, bytes) else ""
    if kind == "int":
        value = int(raw)
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "bool":
        return bool(raw)
    if kind == "time":
        seconds = _message(TIME, raw).get("seconds", 0)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "fieldsv1":
        inner = _message({1: ("raw", "bytes")}, raw).get("raw")
        return json.loads(base64.b64decode(inner)) if inner else {}
    raise ValueError(f"unknown kind {kind}")


def _message(spec: Spec, buf: int | bytes) -> dict[str, Any]:
    if not isinstance(buf, bytes):
        raise ValueError("expected an embedded message")
    out: dict[str, Any] = {}
    for number, raw in _fields(buf):
        if number not in spec:
            continue
        name, kind = spec[number]
        if isinstance(kind, tuple) and kind[0] == "map":
            entry = _message({1: ("key", "string"), 2: ("value", kind[1])}, raw)
            out.setdefault(name, {})[entry.get("key", "")] = entry.get(
                "value", "" if kind[1] in ("string", "bytes") else None)
        elif isinstance(kind, tuple) and kind[0] == "list":
            out.setdefault(name, []).append(_scalar(kind[1], raw))
        else:
            value = _scalar(kind, raw)
            if value != "":  # Go's JSON omits empty strings that protobuf still carries
                out[name] = value
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "the body of the request is not a Kubernetes protobuf message")
    try:
        envelope = _message(_ENVELOPE, body[len(MAGIC):])
        type_meta = envelope.get("typeMeta", {})
        kind = type_meta.get("kind", "")
        spec = KINDS.get(kind)
        if spec is None:
            raise ApiError(415, f"protobuf bodies of kind {kind!r} are not supported by this "
                                "emulator; send JSON", reason="UnsupportedMediaType")
        obj = _message(spec, base64.b64decode(envelope.get("raw", "")))
    except (ValueError, IndexError) as exc:
        raise ApiError(400, f"the body of the request could not be decoded: {exc}") from None
    obj["apiVersion"] = type_meta.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj
