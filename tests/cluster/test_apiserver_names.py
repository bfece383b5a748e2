"""Object names of built-in kinds are validated as the real server validates them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer
from kubesim.testing import Runner

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
             "characters, '-' or '.', and must start and end with an alphanumeric character "
             "(e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
         "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
           "with an alphabetic character, and end with an alphanumeric character (e.g. "
           "'my-name',  or 'abc-123', regex used for validation is "
           "'[a-z]([-a-z0-9]*[a-z0-9])?')")


def create(base: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base}{path}", json=body, timeout=5)


def status_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body = dict(response.json())
    assert body["reason"] == "Invalid"
    return body


@pytest.mark.parametrize(("path", "kind", "name", "problem"), [
    ("/api/v1/namespaces/{ns}/pods", "Pod", "Web_1", SUBDOMAIN),
    ("/api/v1/namespaces/{ns}/configmaps", "ConfigMap", "Settings", SUBDOMAIN),
    ("/api/v1/namespaces/{ns}/secrets", "Secret", "-token", SUBDOMAIN),
    ("/api/v1/namespaces/{ns}/serviceaccounts", "ServiceAccount", "bot.", SUBDOMAIN),
    ("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", "Lease.coordination.k8s.io",
     "Leader", SUBDOMAIN),
    ("/apis/batch/v1/namespaces/{ns}/jobs", "Job.batch", "train job", SUBDOMAIN),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "Deployment.apps", "Api", SUBDOMAIN),
    ("/api/v1/namespaces/{ns}/services", "Service", "1st-service", DNS1035),
    ("/api/v1/namespaces/{ns}/services", "Service", "web.internal", DNS1035),
    ("/apis/apps/v1/namespaces/{ns}/statefulsets", "StatefulSet.apps", "db.0",
     "must not contain dots"),
    ("/api/v1/namespaces", "Namespace", "team.a", "must not contain dots"),
    ("/api/v1/namespaces", "Namespace", "Team-A", LABEL),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", "Role.rbac.authorization.k8s.io",
     "read%write", "may not contain '%'"),
])
def test_invalid_names_are_refused(apiserver: ApiServer, ns: str, path: str, kind: str,
                                   name: str, problem: str) -> None:
    manifest: dict[str, Any] = {"metadata": {"name": name}}
    if kind == "Job.batch":  # a Job must be valid otherwise, or those causes come too
        manifest["spec"] = {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "x"}]}}}
    body = status_of(create(apiserver.url, path.format(ns=ns), manifest))
    cause = f"metadata.name: Invalid value: {json.dumps(name)}: {problem}"
    assert body["message"] == f'{kind} "{name}" is invalid: {cause}'
    assert body["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "metadata.name",
        "message": f"Invalid value: {json.dumps(name)}: {problem}"}]


def test_long_names_report_length_and_pattern(apiserver: ApiServer, ns: str) -> None:
    name = "a" * 254
    body = status_of(create(apiserver.url, f"/api/v1/namespaces/{ns}/configmaps",
                            {"metadata": {"name": name}}))
    assert [c["message"] for c in body["details"]["causes"]] == [
        f'Invalid value: "{name}": must be no more than 253 characters']
    label = "b" * 64
    body = status_of(create(apiserver.url, "/api/v1/namespaces",
                            {"metadata": {"name": label}}))
    assert [c["message"] for c in body["details"]["causes"]] == [
        f'Invalid value: "{label}": must be no more than 63 characters']


def test_valid_names_of_each_rule(apiserver: ApiServer, ns: str, api_client: k8s.ApiClient,
                                  ) -> None:
    core = k8s.CoreV1Api(api_client)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "app.settings-1"}})
    core.create_namespaced_service(ns, {"metadata": {"name": "web-1"},
                                        "spec": {"ports": [{"port": 80}]}})
    assert create(apiserver.url, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles",
                  {"metadata": {"name": "system:Reader"}}).status_code == 201


def test_generate_name_is_checked_as_a_prefix_then_as_a_name(apiserver: ApiServer,
                                                            ns: str) -> None:
    ok = create(apiserver.url, f"/api/v1/namespaces/{ns}/pods",
                {"metadata": {"generateName": "trial-"}, "spec": {"containers": []}})
    assert ok.status_code == 201 and ok.json()["metadata"]["name"].startswith("trial-")
    body = status_of(create(apiserver.url, f"/api/v1/namespaces/{ns}/pods",
                            {"metadata": {"generateName": "Trial-"}}))
    fields = [c["field"] for c in body["details"]["causes"]]
    assert fields == ["metadata.generateName", "metadata.name"]
    assert body["details"]["causes"][0]["message"] == f'Invalid value: "Trial-": {SUBDOMAIN}'
    long = create(apiserver.url, f"/api/v1/namespaces/{ns}/configmaps",
                  {"metadata": {"generateName": "x" * 80}})
    assert long.status_code == 201
    generated = long.json()["metadata"]["name"]
    assert len(generated) == 63 and generated.startswith("x" * 58)


def test_kubectl_reports_the_invalid_name(kubectl: Runner, ns: str) -> None:
    proc = kubectl("create", "configmap", "Settings", "-n", ns, check=False)
    assert proc.returncode != 0
    assert (f'ConfigMap "Settings" is invalid: metadata.name: Invalid value: "Settings": '
            f"{SUBDOMAIN}") in proc.stderr
