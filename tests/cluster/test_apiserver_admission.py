"""Admission refusals a platform really has: ResourceQuota, Pod Security, webhooks.

Each is 403 Forbidden (a webhook: the code it answers) with the plugin's own message, so a
client sees exactly what it would see on a real cluster.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer
from kubesim.testing import Runner

MERGE = {"Content-Type": "application/merge-patch+json"}
RESTRICTED_OK = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
}
CONTAINER_OK = {"securityContext": {"allowPrivilegeEscalation": False,
                                    "capabilities": {"drop": ["ALL"]}}}


def pod(name: str, requests_: dict[str, str] | None = None,
        limits: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "ghcr.io/kubenas/trainer:1"}
    resources = {k: v for k, v in (("requests", requests_), ("limits", limits)) if v}
    if resources:
        container["resources"] = resources
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], **spec}}


def forbidden(caught: pytest.ExceptionInfo[k8s.ApiException]) -> str:
    assert caught.value.status == 403, caught.value.body
    body = json.loads(caught.value.body)
    assert body["reason"] == "Forbidden"
    return str(body["message"])


@pytest.fixture
def core(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


# ---- ResourceQuota ----------------------------------------------------------------------------
COMPUTE = {"pods": "2", "count/pods": "3", "requests.cpu": "1", "requests.memory": "1024Mi",
           "limits.memory": "2Gi", "requests.nvidia.com/gpu": "1"}


def quota(core: k8s.CoreV1Api, ns: str, hard: dict[str, str], name: str = "compute",
          **spec: Any) -> None:
    core.create_namespaced_resource_quota(ns, {"metadata": {"name": name},
                                               "spec": {"hard": hard, **spec}})


def used(core: k8s.CoreV1Api, ns: str, name: str = "compute") -> dict[str, str]:
    return dict(core.read_namespaced_resource_quota(name, ns).status.used)


def test_quota_status_tracks_running_pods(core: k8s.CoreV1Api, ns: str) -> None:
    quota(core, ns, COMPUTE)
    status = core.read_namespaced_resource_quota("compute", ns).status
    assert status.hard == {**COMPUTE, "requests.memory": "1Gi"}  # written back canonical
    assert status.used == dict.fromkeys(COMPUTE, "0")
    core.create_namespaced_pod(ns, pod("trial-0", {"cpu": "500m", "memory": "512Mi"},
                                       {"memory": "1Gi", "nvidia.com/gpu": "1"}))
    assert used(core, ns) == {"pods": "1", "count/pods": "1", "requests.cpu": "500m",
                              "requests.memory": "512Mi", "limits.memory": "1Gi",
                              "requests.nvidia.com/gpu": "1"}
    core.create_namespaced_pod(ns, pod("trial-1", {"cpu": "250m", "memory": "512Mi"},
                                       {"memory": "1Gi"}))
    assert used(core, ns)["requests.cpu"] == "750m" and used(core, ns)["limits.memory"] == "2Gi"


def test_pod_over_quota_is_forbidden_with_the_real_message(core: k8s.CoreV1Api,
                                                           ns: str) -> None:
    quota(core, ns, COMPUTE)
    core.create_namespaced_pod(ns, pod("a", {"cpu": "500m", "memory": "512Mi"},
                                       {"memory": "1Gi", "nvidia.com/gpu": "1"}))
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("b", {"cpu": "750m", "memory": "256Mi"},
                                           {"memory": "512Mi", "nvidia.com/gpu": "1"}))
    assert forbidden(caught) == (
        'pods "b" is forbidden: exceeded quota: compute, requested: '
        "requests.cpu=750m,requests.nvidia.com/gpu=1, used: "
        "requests.cpu=500m,requests.nvidia.com/gpu=1, limited: "
        "requests.cpu=1,requests.nvidia.com/gpu=1")
    assert json.loads(caught.value.body)["details"] == {"name": "b", "kind": "pods"} | {
        "group": ""}
    assert [p.metadata.name for p in core.list_namespaced_pod(ns).items] == ["a"]


def test_finished_pods_do_not_count_but_stay_counted_as_objects(core: k8s.CoreV1Api,
                                                                ns: str) -> None:
    quota(core, ns, COMPUTE)
    core.create_namespaced_pod(ns, pod("done", {"cpu": "1", "memory": "1Gi"},
                                       {"memory": "2Gi", "nvidia.com/gpu": "1"}))
    core.patch_namespaced_pod_status("done", ns, {"status": {"phase": "Succeeded"}})
    assert used(core, ns) == {"pods": "0", "count/pods": "1", "requests.cpu": "0",
                              "requests.memory": "0", "limits.memory": "0",
                              "requests.nvidia.com/gpu": "0"}
    core.create_namespaced_pod(ns, pod("next", {"cpu": "1", "memory": "1Gi"},
                                       {"memory": "2Gi", "nvidia.com/gpu": "1"}))
    core.delete_namespaced_pod("done", ns)
    assert used(core, ns)["count/pods"] == "1"


def test_pods_must_state_what_a_quota_tracks(core: k8s.CoreV1Api, ns: str) -> None:
    quota(core, ns, {"requests.cpu": "2", "requests.memory": "2Gi", "limits.memory": "4Gi"})
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("bare"))
    assert forbidden(caught) == (
        'pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: main; '
        "requests.cpu for: main; requests.memory for: main")
    # A limit alone is enough: the request defaults to it.
    core.create_namespaced_pod(ns, pod("limited", limits={"cpu": "1", "memory": "1Gi"}))
    created = core.read_namespaced_pod("limited", ns)
    assert created.spec.containers[0].resources.requests == {"cpu": "1", "memory": "1Gi"}
    assert created.status.qos_class == "Guaranteed"


def test_object_counts_and_scopes(core: k8s.CoreV1Api, ns: str) -> None:
    quota(core, ns, {"count/configmaps": "1", "secrets": "0"}, name="objects")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "two"}})
    assert forbidden(caught) == (
        'configmaps "two" is forbidden: exceeded quota: objects, requested: '
        "count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1")
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_secret(ns, {"metadata": {"name": "s"}})
    assert "exceeded quota: objects, requested: secrets=1, used: secrets=0" in forbidden(caught)
    quota(core, ns, {"pods": "0"}, name="no-best-effort", scopes=["BestEffort"])
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("free"))
    assert "exceeded quota: no-best-effort, requested: pods=1, used: pods=0, limited: pods=0" \
        in forbidden(caught)
    core.create_namespaced_pod(ns, pod("paid", {"cpu": "100m"}))


def test_kubectl_get_quota(core: k8s.CoreV1Api, ns: str, kubectl: Runner) -> None:
    quota(core, ns, {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "4"})
    core.create_namespaced_pod(ns, pod("p", {"cpu": "200m"}, {"memory": "1Gi"}))
    rows = kubectl("get", "quota", "-n", ns).stdout.splitlines()
    assert rows[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert rows[1].split()[2:] == ["pods:", "1/4,", "requests.cpu:", "200m/1", "limits.memory:",
                                   "1Gi/2Gi"]


# ---- Pod Security admission ------------------------------------------------------------------
def label(core: k8s.CoreV1Api, ns: str, labels: dict[str, str]) -> None:
    core.patch_namespace(ns, {"metadata": {"labels": labels}})


def test_restricted_namespace_refuses_a_plain_pod(core: k8s.CoreV1Api, ns: str) -> None:
    label(core, ns, {"pod-security.kubernetes.io/enforce": "restricted"})
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("plain"))
    assert forbidden(caught) == (
        'pods "plain" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "main" must set '
        "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
        '(container "main" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot '
        '!= true (pod or container "main" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "main" must set securityContext.seccompProfile.type '
        'to "RuntimeDefault" or "Localhost")')
    core.create_namespaced_pod(ns, pod("hardened", container=CONTAINER_OK, **RESTRICTED_OK))


def test_restricted_refuses_volume_types_and_root(core: k8s.CoreV1Api, ns: str) -> None:
    label(core, ns, {"pod-security.kubernetes.io/enforce": "restricted",
                     "pod-security.kubernetes.io/enforce-version": "v1.35"})
    spec = {**RESTRICTED_OK, "securityContext": {**RESTRICTED_OK["securityContext"],
                                                 "runAsUser": 0},
            "volumes": [{"name": "data", "hostPath": {"path": "/data"}},
                        {"name": "scratch", "emptyDir": {}}]}
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("root", container=CONTAINER_OK, **spec))
    assert forbidden(caught) == (
        'pods "root" is forbidden: violates PodSecurity "restricted:v1.35": restricted volume '
        'types (volume "data" uses restricted volume type "hostPath"), runAsUser=0 (pod must '
        "not set runAsUser=0)")


def test_baseline_namespace(core: k8s.CoreV1Api, ns: str) -> None:
    label(core, ns, {"pod-security.kubernetes.io/enforce": "baseline"})
    risky = pod("risky", hostNetwork=True,
                volumes=[{"name": "host", "hostPath": {"path": "/var/run"}}],
                container={"ports": [{"containerPort": 80, "hostPort": 8080}],
                           "securityContext": {"privileged": True,
                                               "capabilities": {"add": ["SYS_ADMIN", "CHOWN"]}}})
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, risky)
    assert forbidden(caught) == (
        'pods "risky" is forbidden: violates PodSecurity "baseline:latest": non-default '
        'capabilities (container "main" must not include "SYS_ADMIN" in '
        "securityContext.capabilities.add), host namespaces (hostNetwork=true), hostPath "
        'volumes (volume "host"), hostPort (container "main" uses hostPort 8080), privileged '
        '(container "main" must not set securityContext.privileged=true)')
    core.create_namespaced_pod(ns, pod("plain"))  # baseline allows what restricted refuses


def test_pod_controllers_get_warnings_and_kubectl_shows_them(ns: str, kubectl: Runner,
                                                             core: k8s.CoreV1Api) -> None:
    label(core, ns, {"pod-security.kubernetes.io/enforce": "restricted"})
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    proc = kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps(deployment))
    assert 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation ' \
           '!= false (container "web" must set' in proc.stderr
    run = kubectl("run", "shell", "-n", ns, "--image=busybox", "--restart=Never", check=False)
    assert run.returncode != 0
    assert 'Error from server (Forbidden): pods "shell" is forbidden: violates PodSecurity ' \
           '"restricted:latest": ' in run.stderr


# ---- validating admission webhooks (a fault) ------------------------------------------------
def test_webhook_denial_fault(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    apiserver.faults.deny_next("pods", webhook="images.policy.example.com",
                               message="image ghcr.io/kubenas/trainer:1 is not signed")
    core.create_namespaced_config_map(ns, {"metadata": {"name": "unaffected"}})
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("first"))
    body = json.loads(caught.value.body)
    assert (caught.value.status, body["message"]) == (
        403, 'admission webhook "images.policy.example.com" denied the request: image '
             "ghcr.io/kubenas/trainer:1 is not signed")
    assert "reason" not in body  # the webhook gave none
    core.create_namespaced_pod(ns, pod("second"))  # only the next one

    apiserver.faults.deny_next("Pod", webhook="quiet.example.com", code=200)
    response = requests.post(f"{apiserver.url}/api/v1/namespaces/{ns}/pods", timeout=5,
                             json=pod("third"))
    assert (response.status_code, response.json()["message"]) == (
        400, 'admission webhook "quiet.example.com" denied the request without explanation')

    apiserver.faults.deny_next("pods", webhook="w.example.com", message="no", code=400,
                               reason="BadRequest", operations=("UPDATE",))
    core.create_namespaced_pod(ns, pod("fourth"))
    response = requests.patch(f"{apiserver.url}/api/v1/namespaces/{ns}/pods/fourth", timeout=5,
                              headers=MERGE, json={"metadata": {"labels": {"a": "b"}}})
    assert (response.status_code, response.json()["reason"]) == (400, "BadRequest")


def test_admission_order(apiserver: ApiServer, core: k8s.CoreV1Api, ns: str) -> None:
    """PodSecurity, then webhooks, then ResourceQuota, as kube-apiserver orders them."""
    quota(core, ns, {"pods": "0"}, name="none")
    apiserver.faults.deny_next("pods", webhook="first.example.com", message="denied",
                               reason="Forbidden")
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("p"))
    assert "admission webhook" in forbidden(caught)
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("p"))
    assert "exceeded quota: none" in forbidden(caught)
    label(core, ns, {"pod-security.kubernetes.io/enforce": "restricted"})
    apiserver.faults.deny_next("pods", webhook="second.example.com", message="denied",
                               reason="Forbidden")
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("p"))
    assert "violates PodSecurity" in forbidden(caught)
    with pytest.raises(k8s.ApiException) as caught:
        core.create_namespaced_pod(ns, pod("p", container=CONTAINER_OK, **RESTRICTED_OK))
    assert "admission webhook" in forbidden(caught)  # the denial was still pending
