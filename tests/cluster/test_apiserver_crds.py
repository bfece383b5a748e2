"""CustomResourceDefinitions: runtime serving, validation, defaults, pruning, CEL, tables."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
import yaml
from kubesim.apiserver import ApiServer
from kubesim.testing import MANIFESTS

MERGE = {"Content-Type": "application/merge-patch+json"}


def widget(obj_name: str = "w", /, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "test.kubesim.io/v1", "kind": "Widget", "metadata": {"name": obj_name},
            "spec": {"size": 3, **spec}}


@pytest.fixture
def widgets(apiserver: ApiServer, widget_crd: dict, ns: str) -> str:
    return f"{apiserver.url}/apis/test.kubesim.io/v1/namespaces/{ns}/widgets"


def errors(response: requests.Response) -> tuple[str, list[str]]:
    body = response.json()
    assert (response.status_code, body["reason"]) == (422, "Invalid"), body
    return body["message"], [c["field"] for c in body["details"]["causes"]]


def test_crd_is_established_and_served(apiserver: ApiServer, widget_crd: dict) -> None:
    conditions = {c["type"]: c["status"] for c in widget_crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert widget_crd["status"]["acceptedNames"]["listKind"] == "WidgetList"
    resources = requests.get(f"{apiserver.url}/apis/test.kubesim.io/v1", timeout=5).json()
    by_name = {r["name"]: r for r in resources["resources"]}
    assert by_name["widgets"]["shortNames"] == ["wg"]
    assert by_name["widgets"]["categories"] == ["kubesim"]
    assert by_name["widgets"]["namespaced"] is True
    assert "widgets/status" in by_name


def test_defaults_are_applied_in_nested_objects(widgets: str) -> None:
    created = requests.post(widgets, json=widget(parts=[{"name": "a"}]), timeout=5).json()
    assert created["spec"]["mode"] == "fast"
    assert created["spec"]["parts"] == [{"name": "a", "count": 1}]


def test_schema_violation_message_names_the_field(widgets: str) -> None:
    message, fields = errors(requests.post(widgets, json=widget("bad", size=-1), timeout=5))
    assert message == ('Widget.test.kubesim.io "bad" is invalid: spec.size: Invalid value: -1: '
                       "spec.size in body should be greater than or equal to 1")
    assert fields == ["spec.size"]


@pytest.mark.parametrize(("spec", "field", "text"), [
    ({"size": "3"}, "spec.size", 'spec.size in body must be of type integer: "string"'),
    ({"size": 101}, "spec.size", "should be less than or equal to 100"),
    ({"mode": "odd"}, "spec.mode", 'Unsupported value: "odd": supported values: "fast", "slow"'),
    ({"ratio": 0}, "spec.ratio", "spec.ratio in body should be greater than 0"),
    ({"name": "a"}, "spec.name", "should be at least 2 chars long"),
    ({"name": "abcdefghijk"}, "spec.name", "Too long: may not be more than 10 bytes"),
    ({"name": "ABC"}, "spec.name", "spec.name in body should match '^[a-z]+$'"),
    ({"tags": ["a", "b", "c", "d"]}, "spec.tags", "Too many: 4: must have at most 3 items"),
    ({"port": 1.5}, "spec.port", "must be of type integer or string"),
    ({"labels": {"a": 1}}, "spec.labels[a]", "must be of type string"),
    ({"parts": [{"count": 2}]}, "spec.parts[0].name", "Required value"),
])
def test_structural_validation(widgets: str, spec: dict, field: str, text: str) -> None:
    message, fields = errors(requests.post(widgets, json=widget(**spec), timeout=5))
    assert field in fields and text in message


def test_missing_required_field(widgets: str) -> None:
    body = widget()
    del body["spec"]["size"]
    message, fields = errors(requests.post(widgets, json=body, timeout=5))
    # the CRD has CEL rules, which the server skips after a Required error, and says so
    assert fields == ["spec.size", "<nil>"] and "spec.size: Required value" in message
    assert "some validation rules were not checked" in message


def test_list_map_keys_must_be_unique(widgets: str) -> None:
    message, fields = errors(requests.post(
        widgets, json=widget(parts=[{"name": "a"}, {"name": "b"}, {"name": "a"}]), timeout=5))
    assert fields == ["spec.parts[2]"]
    assert 'spec.parts[2]: Duplicate value: map[string]interface {}{"name":"a"}' in message


def test_untyped_values_compare_as_json_in_cel(widgets: str) -> None:
    """Untyped values support equality only, deep-compared like Go: 1 and 1.5 simply differ."""
    ok = requests.post(widgets, json=widget("mixed", choices=[1, 1.5, "a", True, [1]]),
                       timeout=5)
    assert ok.status_code == 201, ok.text
    message, _ = errors(requests.post(widgets, json=widget("dup", choices=["a", 2, "a"]),
                                      timeout=5))
    assert "choices must be distinct" in message


def test_transition_rules_compare_untyped_values_deeply(widgets: str) -> None:
    """`self == oldSelf` over objects holding untyped values holds when nothing changed."""
    created = requests.post(widgets, json=widget("keep", choices=[1, "a"]), timeout=5)
    assert created.status_code == 201, created.text
    patched = requests.patch(f"{widgets}/keep", json={"spec": {"size": 4}}, headers=MERGE,
                             timeout=5)
    assert patched.status_code == 200, patched.text


def test_kubernetes_list_library_is_sorted(widgets: str) -> None:
    assert requests.post(widgets, json=widget("up", levels=[1, 2.5, 9]),
                         timeout=5).status_code == 201
    message, _ = errors(requests.post(widgets, json=widget("down", levels=[3, 1]), timeout=5))
    assert "levels must be sorted" in message


def test_a_custom_resource_name_must_be_a_dns_subdomain(widgets: str) -> None:
    message, fields = errors(requests.post(widgets, json=widget("Bad_Name"), timeout=5))
    assert fields == ["metadata.name"]
    assert 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' in message


def test_cel_runs_beside_non_blocking_errors_only(widgets: str) -> None:
    """A bound violation does not block CEL; a type, required, enum or size error does."""
    message, fields = errors(requests.post(widgets, json=widget(size=0, tags=[""]), timeout=5))
    assert fields == ["spec.size", "spec"] and "tags must not be empty" in message
    message, fields = errors(requests.post(widgets, json=widget(size="3", tags=[""]), timeout=5))
    assert "tags must not be empty" not in message and fields[-1] == "<nil>"


def test_accepted_shapes(widgets: str) -> None:
    body = widget(port="http", ratio=0.5, note=None, labels={"a": "b"},
                  extra={"anything": {"goes": [1]}})
    created = requests.post(widgets, json=body, timeout=5)
    assert created.status_code == 201, created.text
    spec = created.json()["spec"]
    assert spec["note"] is None and spec["extra"] == {"anything": {"goes": [1]}}
    assert requests.post(widgets, json=widget("p2", port=8080), timeout=5).status_code == 201


def test_unknown_fields_are_pruned_with_a_warning(widgets: str) -> None:
    body = widget(bogus=1)
    body["top"] = "level"
    created = requests.post(widgets, json=body, timeout=5)
    assert created.status_code == 201
    assert "bogus" not in created.json()["spec"] and "top" not in created.json()
    assert 'unknown field \\"spec.bogus\\"' in created.headers["Warning"] or \
        'unknown field "spec.bogus"' in created.headers["Warning"]


def test_strict_field_validation_rejects_unknown_fields(widgets: str) -> None:
    response = requests.post(widgets, json=widget(bogus=1), params={"fieldValidation": "Strict"},
                             timeout=5)
    assert response.status_code == 400
    assert response.json()["message"].endswith('strict decoding error: unknown field "spec.bogus"')


def test_cel_rule(widgets: str) -> None:
    message, fields = errors(requests.post(widgets, json=widget(tags=["a", ""]), timeout=5))
    assert fields == ["spec"]
    assert message.endswith('spec: Invalid value: "object": tags must not be empty')


def test_cel_transition_rule_runs_on_update_only(widgets: str) -> None:
    created = requests.post(widgets, json=widget(mode="slow"), timeout=5)
    assert created.status_code == 201
    changed = requests.patch(f"{widgets}/w", json={"spec": {"mode": "fast"}}, headers=MERGE,
                             timeout=5)
    message, _ = errors(changed)
    assert message.endswith('spec: Invalid value: "object": mode is immutable')
    ok = requests.patch(f"{widgets}/w", json={"spec": {"size": 4}}, headers=MERGE, timeout=5)
    assert ok.status_code == 200 and ok.json()["metadata"]["generation"] == 2


def test_rules_are_ratcheted_on_unchanged_values(apiserver: ApiServer, widget_crd: dict,
                                                 widgets: str) -> None:
    """KEP-4008 (GA in 1.33): a rule added later refuses new values, not kept ones."""
    assert requests.post(widgets, json=widget(name="old"), timeout=5).status_code == 201
    crds = f"{apiserver.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    crd = requests.get(f"{crds}/{widget_crd['metadata']['name']}", timeout=5).json()
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["name"]["x-kubernetes-validations"] = [
        {"rule": "self != 'old'", "message": "name is retired"}]
    assert requests.put(f"{crds}/{crd['metadata']['name']}", json=crd,
                        timeout=5).status_code == 200
    kept = requests.patch(f"{widgets}/w", json={"spec": {"size": 5}}, headers=MERGE, timeout=5)
    assert kept.status_code == 200, kept.text
    message, fields = errors(requests.post(widgets, json=widget("w2", name="old"), timeout=5))
    assert fields == ["spec.name"] and "name is retired" in message
    changed = requests.patch(f"{widgets}/w", json={"spec": {"mode": "slow"}}, headers=MERGE,
                             timeout=5)  # transition rules are never ratcheted
    assert "mode is immutable" in errors(changed)[0]


def test_status_subresource_and_generation(widgets: str) -> None:
    body = widget()
    body["status"] = {"phase": "Ignored"}
    created = requests.post(widgets, json=body, timeout=5).json()
    assert "status" not in created
    main = requests.patch(f"{widgets}/w", json={"status": {"phase": "X"}}, headers=MERGE,
                          timeout=5).json()
    assert "status" not in main
    status = requests.patch(f"{widgets}/w/status", json={"status": {"phase": "Running"},
                                                         "spec": {"size": 9}},
                            headers=MERGE, timeout=5).json()
    assert status["status"] == {"phase": "Running"} and status["spec"]["size"] == 3
    assert status["metadata"]["generation"] == 1


def test_replace_requires_resource_version(widgets: str) -> None:
    created = requests.post(widgets, json=widget(), timeout=5).json()
    body = copy.deepcopy(created)
    del body["metadata"]["resourceVersion"]
    _, fields = errors(requests.put(f"{widgets}/w", json=body, timeout=5))
    assert fields == ["metadata.resourceVersion"]
    created["spec"]["size"] = 5
    assert requests.put(f"{widgets}/w", json=created, timeout=5).json()["spec"]["size"] == 5


def test_strategic_merge_is_unsupported_for_custom_resources(widgets: str) -> None:
    requests.post(widgets, json=widget(), timeout=5)
    response = requests.patch(f"{widgets}/w", json={"spec": {"size": 4}}, timeout=5, headers={
        "Content-Type": "application/strategic-merge-patch+json"})
    assert response.status_code == 415


def test_apply_merges_list_map_items_by_key(widgets: str) -> None:
    body = widget(parts=[{"name": "a", "count": 5}, {"name": "b"}])
    requests.post(widgets, json=body, timeout=5)
    config = widget(parts=[{"name": "b", "count": 7}])
    result = requests.patch(f"{widgets}/w", data=yaml.safe_dump(config), timeout=5,
                            params={"fieldManager": "t"},
                            headers={"Content-Type": "application/apply-patch+yaml"}).json()
    assert result["spec"]["parts"] == [{"name": "a", "count": 5}, {"name": "b", "count": 7}]


def test_printer_columns_in_table(widgets: str) -> None:
    requests.post(widgets, json=widget(), timeout=5)
    requests.patch(f"{widgets}/w/status", json={"status": {"conditions": [
        {"type": "Ready", "status": "True"}]}}, headers=MERGE, timeout=5)
    table = requests.get(widgets, timeout=5, headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Ready", "Age"]
    name, size, ready, age = table["rows"][0]["cells"]
    assert (name, size, ready) == ("w", 3, "True") and age.endswith("s")


def test_openapi_v3_publishes_the_schema(apiserver: ApiServer, widget_crd: dict) -> None:
    root = requests.get(f"{apiserver.url}/openapi/v3", timeout=5).json()
    ref = root["paths"]["apis/test.kubesim.io/v1"]["serverRelativeURL"]
    doc = requests.get(f"{apiserver.url}{ref}", timeout=5).json()
    component = doc["components"]["schemas"]["io.kubesim.test.v1.Widget"]
    assert component["properties"]["spec"]["properties"]["size"]["maximum"] == 100
    patch_op = doc["paths"]["/apis/test.kubesim.io/v1/namespaces/{namespace}/widgets/{name}"][
        "patch"]
    assert patch_op["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    assert "fieldValidation" in {p["name"] for p in patch_op["parameters"]}


def test_deleting_a_crd_deletes_its_objects(apiserver: ApiServer, ns: str) -> None:
    crd = yaml.safe_load((MANIFESTS / "widgets-crd.yaml").read_text())
    crd["metadata"]["name"] = "gadgets.test.kubesim.io"
    crd["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget"}
    crds = f"{apiserver.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    assert requests.post(crds, json=crd, timeout=5).status_code == 201
    gadgets = f"{apiserver.url}/apis/test.kubesim.io/v1/namespaces/{ns}/gadgets"
    body = {**widget("g"), "kind": "Gadget"}
    body["metadata"]["finalizers"] = ["test/hold"]
    assert requests.post(gadgets, json=body, timeout=5).status_code == 201
    requests.delete(f"{crds}/gadgets.test.kubesim.io", timeout=5)
    assert requests.get(f"{gadgets}/g", timeout=5).json()["metadata"]["deletionTimestamp"]
    assert requests.get(f"{crds}/gadgets.test.kubesim.io", timeout=5).status_code == 200
    requests.patch(f"{gadgets}/g", json={"metadata": {"finalizers": None}}, headers=MERGE,
                   timeout=5)
    assert requests.get(f"{crds}/gadgets.test.kubesim.io", timeout=5).status_code == 404
    assert requests.get(gadgets, timeout=5).status_code == 404


def test_crd_name_must_match_names(apiserver: ApiServer) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "wrong.example.com"}, "spec": {
               "group": "example.com", "scope": "Namespaced",
               "names": {"plural": "things", "kind": "Thing"},
               "versions": [{"name": "v1", "served": True, "storage": True,
                             "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    response = requests.post(
        f"{apiserver.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd,
        timeout=5)
    assert response.status_code == 422
