"""Every API permission the operator needs, and nothing more: what the Helm chart grants.

A test runs the operator's code paths against a recording API and checks each call against
this table, and another renders the chart in both RBAC modes and checks that its rules are
exactly this table, so neither can drift.
"""

from __future__ import annotations

import re

Rule = tuple[str, str]  # (API group, resource or resource/subresource)

# In every namespace the operator watches.
NAMESPACED: dict[Rule, frozenset[str]] = {
    ("kubenas.io", "nasexperiments"): frozenset({"get", "list", "watch", "patch"}),
    ("kubenas.io", "nasexperiments/status"): frozenset({"patch"}),
    ("kubenas.io", "nastrials"): frozenset({"get", "list", "watch", "create"}),
    ("kubenas.io", "nastrials/status"): frozenset({"patch"}),
    # Owner references with blockOwnerDeletion need this where
    # OwnerReferencesPermissionEnforcement is on.
    ("kubenas.io", "nasexperiments/finalizers"): frozenset({"update"}),
    ("kubenas.io", "nastrials/finalizers"): frozenset({"update"}),
    # get: a workload its trial names, missing from a lagging watch, is asked for.
    ("", "pods"): frozenset({"get", "list", "watch", "create", "delete"}),
    ("batch", "jobs"): frozenset({"get", "list", "watch", "create", "delete"}),
    ("", "events"): frozenset({"create"}),
}
# In the operator's own namespace: leader election.
OWN_NAMESPACE: dict[Rule, frozenset[str]] = {
    ("coordination.k8s.io", "leases"): frozenset({"get", "create", "update"}),
}
# Cluster-wide, only with node access (budget.gpuAware counts GPUs held by any pod).
NODE_ACCESS: dict[Rule, frozenset[str]] = {
    ("", "nodes"): frozenset({"list", "watch"}),
    ("", "pods"): frozenset({"list", "watch"}),
}
# Cluster-wide, only when watching every namespace: Kopf's discovery of namespaces and CRDs.
CLUSTER_WIDE: dict[Rule, frozenset[str]] = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): frozenset({"list", "watch"}),
    ("", "namespaces"): frozenset({"list", "watch"}),
}
_PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/[^/]+)?"
                   r"/(?P<resource>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$")
VERBS = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}


def needed(method: str, path: str) -> tuple[Rule, str]:
    """The rule and verb a REST call needs."""
    match = _PATH.match(path.split("?")[0])
    if match is None:
        raise ValueError(f"not a resource path: {path}")
    resource = match["resource"] + (f"/{match['sub']}" if match["sub"] else "")
    verb = ("get" if match["name"] else "list") if method == "GET" else VERBS[method]
    return (match["group"] or "", resource), verb
