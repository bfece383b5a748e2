"""The chart's optional dashboard: off by default, read-only RBAC, restricted pod."""

from __future__ import annotations

from typing import Any

from .conftest import CHART, NAMESPACE, grants, objects, render, run, tool

Objects = list[dict[str, Any]]
READ = {("kubenas.io", "nasexperiments"): {"get", "list", "watch"},
        ("kubenas.io", "nastrials"): {"get", "list", "watch"}}


def named(objs: Objects, kind: str, name: str = "kubenas-dashboard") -> Objects:
    return [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]


def test_off_by_default() -> None:
    assert not [o for o in objects(render()) if "dashboard" in o["metadata"]["name"]]


def test_cluster_wide_it_may_only_read_the_two_kinds() -> None:
    objs = objects(render("--set", "dashboard.enabled=true"))
    (role,) = named(objs, "ClusterRole")
    assert grants(role) == READ
    (binding,) = named(objs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "kubenas-dashboard"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubenas-dashboard",
                                    "namespace": NAMESPACE}]
    (account,) = named(objs, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    (deployment,) = named(objs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kubenas-dashboard"
    (container,) = pod["containers"]
    assert container["command"] == ["kubenas"]
    assert container["args"] == ["dashboard", "--cluster", "--all-namespaces", "--host",
                                 "0.0.0.0", "--port", "8080", "--poll", "3"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"]["limits"]["memory"] == "256Mi"


def test_namespaced_it_gets_a_role_per_namespace() -> None:
    objs = objects(render("--set", "dashboard.enabled=true",
                          "--set", "watchNamespaces={team-a,team-b}"))
    assert not named(objs, "ClusterRole") and not named(objs, "ClusterRoleBinding")
    roles = {r["metadata"]["namespace"]: grants(r) for r in named(objs, "Role")}
    assert roles == {"team-a": READ, "team-b": READ}
    (deployment,) = named(objs, "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--namespace") + 1] == "team-a,team-b"


def test_its_pods_are_not_the_operators() -> None:
    """Neither Deployment (nor Service) selects the other's pods."""
    objs = objects(render("--set", "dashboard.enabled=true", "--set", "dashboard.port=9000"))
    deployments = {d["metadata"]["name"]: d for d in objs if d["kind"] == "Deployment"}
    services = {s["metadata"]["name"]: s for s in objs if s["kind"] == "Service"}
    assert set(deployments) == {"kubenas", "kubenas-dashboard"}
    for name, deployment in deployments.items():
        other = deployments[({*deployments} - {name}).pop()]
        labels = other["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert not selector.items() <= labels.items()
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert services[name]["spec"]["selector"] == selector
    assert services["kubenas-dashboard"]["spec"]["ports"][0]["port"] == 9000
    (policy,) = named(objs, "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"] == \
        deployments["kubenas-dashboard"]["spec"]["selector"]["matchLabels"]


def test_lints_and_refuses_unknown_values() -> None:
    run(tool("helm"), "lint", "--strict", str(CHART), "--set", "dashboard.enabled=true")
    bad = run(tool("helm"), "template", "x", str(CHART), "--set", "dashboard.bogus=1",
              check=False)
    assert bad.returncode != 0 and "bogus" in bad.stderr
    bad = run(tool("helm"), "template", "x", str(CHART), "--set", "dashboard.pollSeconds=0",
              check=False)
    assert bad.returncode != 0
