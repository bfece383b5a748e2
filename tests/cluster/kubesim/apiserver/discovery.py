"""Discovery (`/version`, `/api`, `/apis`, resource lists) and the OpenAPI v3 documents.

kubectl and helm validate manifests through OpenAPI v3: for each group-version they look
for a PATCH operation tagged with the kind's `x-kubernetes-group-version-kind` that accepts
the `fieldValidation` query parameter, and then leave validation to the server. Custom
resources also get their schema as a component, which is what `kubectl explain` reads.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import ALL_VERBS, Registry, ResourceType

VERSION = {
    "major": "1",
    "minor": "35",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.0",
    "gitCommit": "kubesim",
    "gitTreeState": "clean",
    "buildDate": "2025-12-17T00:00:00Z",
    "goVersion": "go1.25.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "log": ["get"],
                     "eviction": ["create"], "scale": ["get", "patch", "update"]}
SUBRESOURCE_KINDS = {"eviction": ("policy", "v1", "Eviction"), "scale": ("autoscaling", "v1",
                                                                          "Scale")}


def api_versions(address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def group_list(registry: Registry) -> dict[str, Any]:
    groups = []
    for group, versions in sorted(registry.group_versions().items()):
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict[str, Any] | None:
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": entries,
            "preferredVersion": entries[0]}


def resource_list(registry: Registry, group_name: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry.all() if rt.group == group_name and rt.version == version]
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for rt in sorted(types, key=lambda t: t.plural):
        entry: dict[str, Any] = {
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
            "kind": rt.kind, "verbs": list(ALL_VERBS), "storageVersionHash": "",
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            if sub in SUBRESOURCE_KINDS:
                g, v, k = SUBRESOURCE_KINDS[sub]
                sub_entry.update(group=g, version=v, kind=k)
            resources.append(sub_entry)
    gv = f"{group_name}/{version}" if group_name else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


# ---- OpenAPI v3 ----------------------------------------------------------------------------
def _gv_path(group_name: str, version: str) -> str:
    return f"apis/{group_name}/{version}" if group_name else f"api/{version}"


def schema_name(rt: ResourceType) -> str:
    """`io.kubenas.v1alpha1.NASExperiment`: the reversed group, as the real server names it."""
    rev = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{rev}.{rt.version}.{rt.kind}"


_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force")


def gv_document(registry: Registry, group_name: str, version: str) -> dict[str, Any] | None:
    types = [rt for rt in registry.all() if rt.group == group_name and rt.version == version]
    if not types:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        gvk = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
        prefix = "/" + _gv_path(rt.group, rt.version)
        if rt.namespaced:
            prefix += "/namespaces/{namespace}"
        params = [{"name": p, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                  for p in _QUERY_PARAMS]
        ref = {"$ref": f"#/components/schemas/{schema_name(rt)}"}
        body = {"content": {"application/json": {"schema": ref}}}
        op = {"x-kubernetes-group-version-kind": gvk[0], "parameters": params,
              "responses": {"200": body}}
        paths[f"{prefix}/{rt.plural}/{{name}}"] = {
            "get": {**op, "x-kubernetes-action": "get", "operationId": f"read{rt.kind}"},
            "put": {**op, "x-kubernetes-action": "put", "operationId": f"replace{rt.kind}",
                    "requestBody": body},
            "patch": {**op, "x-kubernetes-action": "patch", "operationId": f"patch{rt.kind}",
                      "requestBody": {"content": {"application/merge-patch+json": {
                          "schema": {"type": "object"}}}}},
        }
        paths[f"{prefix}/{rt.plural}"] = {
            "post": {**op, "x-kubernetes-action": "post", "operationId": f"create{rt.kind}",
                     "requestBody": body},
        }
        if rt.schema is not None:
            schemas[schema_name(rt)] = _component(rt, gvk)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.35.0"},
            "paths": paths, "components": {"schemas": schemas}}


def _component(rt: ResourceType, gvk: list[dict[str, str]]) -> dict[str, Any]:
    schema = json.loads(json.dumps(rt.schema))
    props = schema.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string", "description": "APIVersion defines the "
                                    "versioned schema of this representation of an object."})
    props.setdefault("kind", {"type": "string", "description": "Kind is a string value "
                              "representing the REST resource this object represents."})
    props["metadata"] = {"type": "object", "description": "Standard object's metadata."}
    schema["x-kubernetes-group-version-kind"] = gvk
    return schema


def _digest(doc: Any) -> str:
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def openapi_root(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group_name, versions in registry.group_versions().items():
        for version in versions:
            doc = gv_document(registry, group_name, version)
            rel = _gv_path(group_name, version)
            paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={_digest(doc)}"}
    return {"paths": dict(sorted(paths.items()))}
