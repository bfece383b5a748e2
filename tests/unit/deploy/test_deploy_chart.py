"""The Helm chart lints strictly and renders least-privilege, restricted-PSS objects."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from kubenas.backends.kubernetes import permissions

from .conftest import CHART, NAMESPACE, RENDERINGS, REPO, grants, objects, render, run, tool

Objects = list[dict[str, Any]]
WORKLOAD_VERBS = {k: set(v) for k, v in permissions.NAMESPACED.items()}
NODE_VERBS = {k: set(v) for k, v in permissions.NODE_ACCESS.items()}
LEADER_VERBS = {k: set(v) for k, v in permissions.OWN_NAMESPACE.items()}
CLUSTER_WIDE = {**WORKLOAD_VERBS, **{k: set(v) for k, v in permissions.CLUSTER_WIDE.items()}}


def kinds(objs: Objects, kind: str) -> Objects:
    return [o for o in objs if o["kind"] == kind]


def test_lint_strict() -> None:
    for args in RENDERINGS.values():  # lint has no --api-versions; keep the --set pairs
        pairs = zip(args[::2], args[1::2], strict=True)
        sets = [part for flag, value in pairs if flag == "--set" for part in (flag, value)]
        run(tool("helm"), "lint", "--strict", str(CHART), *sets)


def test_schema_rejects_unknown_values() -> None:
    result = run(tool("helm"), "template", "x", str(CHART), "--set", "bogus=1", check=False)
    assert result.returncode != 0 and "bogus" in result.stderr
    result = run(tool("helm"), "template", "x", str(CHART), "--set", "metrics.mode=pull",
                 check=False)
    assert result.returncode != 0


def test_chart_crds_are_the_generated_ones() -> None:
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").iterdir()}
    assert chart == {p.name: p.read_bytes() for p in (REPO / "crds").iterdir()}


def test_deployment_is_restricted(rendered: dict[str, Objects]) -> None:
    for objs in rendered.values():
        (deployment,) = kinds(objs, "Deployment")
        spec = deployment["spec"]
        assert spec["replicas"] == 2 and spec["strategy"] == {"type": "RollingUpdate"}
        pod = spec["template"]["spec"]
        assert pod["automountServiceAccountToken"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert any(v["name"] == "tmp" and "emptyDir" in v for v in pod["volumes"])
        assert container["resources"]["limits"] and container["resources"]["requests"]
        for probe in ("livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
        assert container["command"] == ["kubenas"]
        args = container["args"]
        assert args[0] == "operator"
        assert args[args.index("--trainer-image") + 1] == "ghcr.io/kubenas/trainer:0.1.0"
        assert args[args.index("--prometheus-url") + 1].startswith("http")
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert args[args.index("--metrics-mode") + 1] == "prometheus" and "POD_NAMESPACE" in env


def test_namespaces_arg_only_when_namespaced(rendered: dict[str, Objects]) -> None:
    def args(name: str) -> list[str]:
        (deployment,) = kinds(rendered[name], "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        return list(container["args"])

    assert "--namespaces" not in args("cluster-wide")
    namespaced = args("namespaced")
    assert namespaced[namespaced.index("--namespaces") + 1] == "team-a,team-b"


def test_only_the_operator_mounts_a_token(rendered: dict[str, Objects]) -> None:
    (account,) = kinds(rendered["cluster-wide"], "ServiceAccount")
    assert account["automountServiceAccountToken"] is False


def test_rbac_cluster_wide(rendered: dict[str, Objects]) -> None:
    """Exactly the operator's permissions (kubenas.backends.kubernetes.permissions)."""
    objs = rendered["cluster-wide"]
    roles = {r["metadata"]["name"]: grants(r) for r in kinds(objs, "ClusterRole")}
    assert roles == {"kubenas": CLUSTER_WIDE, "kubenas-nodes": NODE_VERBS}
    (leader,) = kinds(objs, "Role")
    assert leader["metadata"]["namespace"] == NAMESPACE and grants(leader) == LEADER_VERBS
    bindings = kinds(objs, "ClusterRoleBinding") + kinds(objs, "RoleBinding")
    assert {b["roleRef"]["name"] for b in bindings} == {*roles, "kubenas-leader"}
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubenas",
                                        "namespace": NAMESPACE}]


def test_rbac_namespaced_needs_no_cluster_role(rendered: dict[str, Objects]) -> None:
    objs = rendered["namespaced"]
    assert not kinds(objs, "ClusterRole") and not kinds(objs, "ClusterRoleBinding")
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): grants(r)
             for r in kinds(objs, "Role")}
    assert roles == {("team-a", "kubenas"): WORKLOAD_VERBS,
                     ("team-b", "kubenas"): WORKLOAD_VERBS,
                     (NAMESPACE, "kubenas-leader"): LEADER_VERBS}
    (deployment,) = kinds(objs, "Deployment")
    assert "--no-node-access" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    nodes = objects(render("--set", "watchNamespaces={team-a}", "--set", "nodeAccess=true"))
    assert {r["metadata"]["name"]: grants(r) for r in kinds(nodes, "ClusterRole")} == {
        "kubenas-nodes": NODE_VERBS}


def test_values_reach_the_operator(rendered: dict[str, Objects]) -> None:
    objs = objects(render("--set", "metrics.mode=direct", "--set", "keepFinishedPods=3",
                          "--set", "trialPodPolicy.secrets={wandb}",
                          "--set", "trialPodPolicy.privileged=true"))
    (deployment,) = kinds(objs, "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    pairs = dict(itertools.pairwise(args))
    assert pairs["--metrics-mode"] == "direct" and pairs["--keep-finished-pods"] == "3"
    assert pairs["--allow-secrets"] == "wandb" and "--allow-privileged" in args
    assert "hostPath" not in pairs["--allow-volume-types"]
    assert pairs["--leader-election-namespace"] == "$(POD_NAMESPACE)"
    assert deployment["spec"]["replicas"] == 2
    assert kinds(objs, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1


def test_no_wildcards(rendered: dict[str, Objects]) -> None:
    for objs in rendered.values():
        for role in kinds(objs, "ClusterRole") + kinds(objs, "Role"):
            for rule in role["rules"]:
                values = rule["apiGroups"] + rule["resources"] + rule["verbs"]
                assert "*" not in values, role["metadata"]["name"]
                assert "secrets" not in rule["resources"]


@pytest.mark.parametrize(("name", "expected"), [
    ("cluster-wide", set()), ("monitors-without-crds", set()),
    ("monitors-on", {"PodMonitor", "ServiceMonitor"}),
])
def test_monitors_need_the_api_and_the_value(rendered: dict[str, Objects], name: str,
                                             expected: set[str]) -> None:
    found = {o["kind"] for o in rendered[name] if o["kind"].endswith("Monitor")}
    assert found == expected


def test_pod_monitor_selects_trial_pods(rendered: dict[str, Objects]) -> None:
    (monitor,) = kinds(rendered["monitors-on"], "PodMonitor")
    spec = monitor["spec"]
    assert spec["selector"]["matchExpressions"] == [{"key": "kubenas.io/trial",
                                                      "operator": "Exists"}]
    assert spec["podMetricsEndpoints"][0]["port"] == "metrics"
    assert spec["namespaceSelector"] == {"any": True}
    (namespaced,) = kinds(rendered["monitors-on-namespaced"], "PodMonitor")
    assert namespaced["spec"]["namespaceSelector"] == {"matchNames": ["team-a"]}


def test_standard_labels(rendered: dict[str, Objects]) -> None:
    for obj in rendered["monitors-on"]:
        labels = obj["metadata"]["labels"]
        assert labels["helm.sh/chart"] == "kubenas-0.1.0", obj["kind"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/name"] == "kubenas"


def test_direct_mode_needs_no_prometheus_url() -> None:
    objs = objects(render("--set", "metrics.mode=direct", "--set", "prometheus.url="))
    (deployment,) = kinds(objs, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--prometheus-url" not in container["args"]
    result = run(tool("helm"), "template", "x", str(CHART), "--set", "prometheus.url=",
                 check=False)
    assert result.returncode != 0  # prometheus mode without a URL is a values error
