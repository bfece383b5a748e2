"""Resource types the server serves: the built-in ones and those that CRDs add at runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = (
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
)


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    crd: bool = False
    # CRD details discovery and lists need: the storage flag and the list kind.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def store_key(self) -> tuple[str, str]:
        """Objects are stored once per group and plural, whatever version they are served at."""
        return (self.group, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _core(plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (),
          sub: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, short, categories, sub)


def _grp(gv: str, plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (),
         sub: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> ResourceType:
    group, version = gv.split("/")
    return ResourceType(group, version, plural, kind, namespaced, short, categories, sub)


BUILTINS: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", False, ("ns",), ("status",)),
    _core("pods", "Pod", True, ("po",), ("status", "log", "eviction"), ("all",)),
    _core("nodes", "Node", False, ("no",), ("status",)),
    _core("events", "Event", True, ("ev",)),
    _core("configmaps", "ConfigMap", True, ("cm",)),
    _core("secrets", "Secret"),
    _core("serviceaccounts", "ServiceAccount", True, ("sa",)),
    _core("services", "Service", True, ("svc",), ("status",), ("all",)),
    _core("endpoints", "Endpoints", True, ("ep",)),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    _core("persistentvolumes", "PersistentVolume", False, ("pv",), ("status",)),
    _core("resourcequotas", "ResourceQuota", True, ("quota",), ("status",)),
    _core("limitranges", "LimitRange", True, ("limits",)),
    _grp("apps/v1", "deployments", "Deployment", True, ("deploy",), ("status",), ("all",)),
    _grp("apps/v1", "statefulsets", "StatefulSet", True, ("sts",), ("status",), ("all",)),
    _grp("apps/v1", "replicasets", "ReplicaSet", True, ("rs",), ("status",), ("all",)),
    _grp("apps/v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), ("all",)),
    _grp("batch/v1", "jobs", "Job", True, (), ("status",), ("all",)),
    _grp("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _grp("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _grp("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _grp("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _grp("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition",
         False, ("crd", "crds"), ("status",)),
    _grp("coordination.k8s.io/v1", "leases", "Lease"),
    _grp("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, ("pc",)),
    _grp("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), ("status",)),
    _grp("events.k8s.io/v1", "events", "Event", True, ("ev",)),
    _grp("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    _grp("networking.k8s.io/v1", "ingresses", "Ingress", True, ("ing",), ("status",)),
    _grp("storage.k8s.io/v1", "storageclasses", "StorageClass", False, ("sc",)),
)


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CRD serves, one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    out = []
    for ver in spec.get("versions", []):
        if not ver.get("served", True):
            continue
        subresources = tuple(sorted((ver.get("subresources") or {}).keys()))
        out.append(ResourceType(
            group=spec["group"],
            version=ver["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=subresources,
            schema=(ver.get("schema") or {}).get("openAPIV3Schema"),
            printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
            crd=True,
            extra={"storage": bool(ver.get("storage")), "listKind": names.get("listKind")},
        ))
    return out


class Registry:
    """Looks resource types up by URL segments or by kind; CRDs come and go at runtime."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_keys: dict[str, list[tuple[str, str, str]]] = {}
        for rt in BUILTINS:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, the preferred (storage or first) version first."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                if rt.extra.get("storage"):
                    versions.insert(0, rt.version)
                else:
                    versions.append(rt.version)
        return out

    def register_crd(self, crd: dict[str, Any]) -> None:
        self.unregister_crd(crd["metadata"]["name"])
        keys = []
        for rt in crd_types(crd):
            key = (rt.group, rt.version, rt.plural)
            self._types[key] = rt
            keys.append(key)
        self._crd_keys[crd["metadata"]["name"]] = keys

    def unregister_crd(self, name: str) -> None:
        for key in self._crd_keys.pop(name, []):
            self._types.pop(key, None)
