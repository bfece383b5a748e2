"""Request bodies a real API server cannot decode: NaN and infinities in JSON.

Go's JSON decoder refuses `NaN`, `Infinity` and `-Infinity` (Python's accepts them), so a
real server answers 400 BadRequest with the decoder's message and stores nothing; an
emulator that stored them would make `kubectl get -o json` fail afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from kubernetes import client as k8s
from kubesim.apiserver import ApiServer
from kubesim.testing import Runner

GROUP, VERSION, PLURAL = "test.kubesim.io", "v1", "widgets"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


def widget(name: str, ratio: Any = 0.5) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": 1, "ratio": ratio}}


def send(method: str, url: str, text: str, ctype: str = "application/json",
         **params: str) -> requests.Response:
    return requests.request(method, url, data=text.encode(), params=params, timeout=5,
                            headers={"Content-Type": ctype})


def refusal(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    return response.status_code, body["reason"], body["message"]


@pytest.fixture
def widgets(apiserver: ApiServer, widget_crd: dict, ns: str) -> str:
    return f"{apiserver.url}/apis/{GROUP}/{VERSION}/namespaces/{ns}/widgets"


def test_create_with_nan_is_a_bad_request_from_the_decoder(
        api_client: k8s.ApiClient, ns: str, widget_crd: dict, kubectl: Runner) -> None:
    """The official client sends Python's `NaN` token; the server's decoder refuses it."""
    custom = k8s.CustomObjectsApi(api_client)
    with pytest.raises(k8s.ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL,
                                               widget("nan", float("nan")))
    status = json.loads(caught.value.body)
    assert (caught.value.status, status["reason"]) == (400, "BadRequest")
    assert status["message"] == (
        "the object provided is unrecognized (must be of type Widget): couldn't get "
        "version/kind; json parse error: invalid character 'N' looking for beginning of "
        'value ({"apiVersion": "test.kubesim.i ...)')
    listed = json.loads(kubectl("get", "widgets", "-n", ns, "-o", "json").stdout)
    assert listed["items"] == []


@pytest.mark.parametrize(("token", "message"), [
    ("Infinity", "invalid character 'I' looking for beginning of value"),
    ("-Infinity", "invalid character 'I' in numeric literal"),
])
def test_create_with_an_infinity_is_refused(widgets: str, token: str, message: str) -> None:
    text = f'{{"apiVersion":"{GROUP}/{VERSION}","kind":"Widget","metadata":{{"name":"inf"}},' \
           f'"spec":{{"size":1,"ratio":{token}}}}}'
    code, reason, text_out = refusal(send("POST", widgets, text))
    assert (code, reason) == (400, "BadRequest")
    assert text_out == (f"the object provided is unrecognized (must be of type Widget): "
                        f"couldn't get version/kind; json parse error: {message} "
                        f'({text[:30]} ...)')
    assert requests.get(f"{widgets}/inf", timeout=5).status_code == 404


def test_a_number_too_big_for_a_float64_is_refused(widgets: str) -> None:
    text = json.dumps(widget("big")).replace("0.5", "1e999")
    code, _, message = refusal(send("POST", widgets, text))
    assert code == 400
    assert message == ('Widget in version "v1" cannot be handled as a Widget: json: cannot '
                       "unmarshal number 1e999 into Go value of type float64")


def test_update_and_patches_with_non_finite_numbers_are_refused(
        apiserver: ApiServer, widgets: str, ns: str) -> None:
    created = requests.post(widgets, json=widget("w"), timeout=5)
    assert created.status_code == 201
    url = f"{widgets}/w"
    replaced = json.dumps(created.json()).replace("0.5", "NaN")
    assert refusal(send("PUT", url, replaced))[:2] == (400, "BadRequest")
    assert refusal(send("PUT", url + "/status", replaced))[:2] == (400, "BadRequest")
    patch = '{"spec":{"ratio":NaN}}'
    nan = "invalid character 'N' looking for beginning of value"
    assert refusal(send("PATCH", url, patch, MERGE)) == (
        400, "BadRequest", f"error decoding patch: {nan}")
    assert refusal(send("PATCH", url + "/status", '{"status":{"x":Infinity}}', MERGE)) == (
        400, "BadRequest",
        "error decoding patch: invalid character 'I' looking for beginning of value")
    assert refusal(send("PATCH", url, patch, MERGE, fieldValidation="Ignore")) == (
        400, "BadRequest", "Invalid JSON Patch")
    assert refusal(send("PATCH", url, '[{"op":"replace","path":"/spec/ratio","value":NaN}]',
                        JSON_PATCH)) == (400, "BadRequest", f"error decoding patch: {nan}")
    apply = f"apiVersion: {GROUP}/{VERSION}\nkind: Widget\nmetadata: {{name: w}}\n" \
            "spec: {size: 1, ratio: .nan}\n"
    assert refusal(send("PATCH", url, apply, APPLY, fieldManager="t")) == (
        400, "BadRequest", "error decoding YAML: error converting YAML to JSON: json: "
                           "unsupported value: NaN")
    stored = requests.get(url, timeout=5).json()
    assert stored["spec"]["ratio"] == 0.5


def test_strategic_patch_and_delete_bodies(apiserver: ApiServer, ns: str) -> None:
    base = f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps"
    assert requests.post(base, json={"metadata": {"name": "c"}}, timeout=5).status_code == 201
    nan = "invalid character 'N' looking for beginning of value"
    assert refusal(send("PATCH", f"{base}/c", '{"data":{"a":NaN}}', STRATEGIC)) == (
        400, "BadRequest", nan)
    # DeleteOptions are decoded without the error being turned into a Status first.
    assert refusal(send("DELETE", f"{base}/c", '{"gracePeriodSeconds":NaN}')) == (
        500, "Unknown", f"couldn't get version/kind; json parse error: {nan}")
    assert requests.get(f"{base}/c", timeout=5).status_code == 200
