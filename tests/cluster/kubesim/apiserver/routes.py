"""URL parsing: which resource type, namespace, name and subresource a path names."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError
from .resources import Registry, ResourceType


@dataclass
class Target:
    rt: ResourceType
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str | None
    sub: str | None
    legacy_watch: bool = False


def parse(registry: Registry, parts: list[str]) -> Target | None:
    """`parts` are the path segments; None when the path is not a resource path."""
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace: str | None = None
    is_ns_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if rest[0] == "namespaces" and len(rest) >= 3 and not is_ns_subresource:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise ApiError(404, "the server could not find the requested resource")
    rt = registry.get(group, version, rest[0])
    if rt is None:
        raise ApiError(404, "the server could not find the requested resource")
    if namespace is not None and not rt.namespaced:
        raise ApiError(404, "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if sub is not None and sub not in rt.subresources:
        raise ApiError(404, "the server could not find the requested resource")
    if rt.namespaced and name is not None and namespace is None:
        raise ApiError(404, "the server could not find the requested resource")
    return Target(rt, namespace, name, sub, legacy_watch)
