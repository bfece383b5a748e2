"""The real kubectl against the emulator."""

from __future__ import annotations

import json
import threading
import time

import requests
from kubesim.apiserver import ApiServer
from kubesim.testing import MANIFESTS, Runner

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: {color}
"""
POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: busybox:1.36
      env:
        - {name: A, value: "1"}
"""


def test_apply_twice_then_get_and_delete(kubectl: Runner, ns: str) -> None:
    first = kubectl("apply", "-n", ns, "-f", "-", stdin=CONFIGMAP.format(color="red"))
    assert first.stdout.strip() == "configmap/settings created"
    second = kubectl("apply", "-n", ns, "-f", "-", stdin=CONFIGMAP.format(color="blue"))
    assert second.stdout.strip() == "configmap/settings configured"
    obj = json.loads(kubectl("get", "-n", ns, "configmap", "settings", "-o", "json").stdout)
    assert obj["data"] == {"color": "blue"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    color = kubectl("get", "-n", ns, "cm", "settings", "-o", "jsonpath={.data.color}").stdout
    assert color == "blue"
    assert "deleted" in kubectl("delete", "-n", ns, "cm", "settings").stdout
    missing = kubectl("get", "-n", ns, "cm", "settings", check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_create_label_and_patch_types(kubectl: Runner, ns: str) -> None:
    kubectl("create", "-n", ns, "-f", "-", stdin=POD)
    kubectl("label", "-n", ns, "pod", "web", "tier=front")
    kubectl("patch", "-n", ns, "pod", "web", "--type=merge", "-p",
            '{"metadata":{"annotations":{"a":"b"}}}')
    kubectl("patch", "-n", ns, "pod", "web", "--type=json", "-p",
            '[{"op":"add","path":"/metadata/labels/extra","value":"x"}]')
    kubectl("patch", "-n", ns, "pod", "web", "--type=strategic", "-p",
            '{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"2"}]}]}}')
    pod = json.loads(kubectl("get", "-n", ns, "pod", "web", "-o", "json").stdout)
    assert pod["metadata"]["labels"] == {"tier": "front", "extra": "x"}
    assert pod["metadata"]["annotations"] == {"a": "b"}
    assert pod["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"},
                                                   {"name": "B", "value": "2"}]
    listing = kubectl("get", "-n", ns, "pods").stdout.split("\n")
    assert listing[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert listing[1].split()[:3] == ["web", "0/1", "Pending"]


def test_imperative_create_sends_protobuf(kubectl: Runner, ns: str) -> None:
    kubectl("create", "-n", ns, "configmap", "lit", "--from-literal=a=b")
    kubectl("create", "-n", ns, "secret", "generic", "s", "--from-literal=k=v")
    kubectl("create", "-n", ns, "serviceaccount", "bot")
    secret = json.loads(kubectl("get", "-n", ns, "secret", "s", "-o", "json").stdout)
    assert secret["data"] == {"k": "dg=="}
    assert "generateName" not in secret["metadata"]
    assert kubectl("get", "-n", ns, "sa", "bot", "-o", "name").stdout.strip() == \
        "serviceaccount/bot"
    other = f"{ns}-x"
    kubectl("create", "namespace", other)
    assert kubectl("get", "ns", other, "-o", "jsonpath={.status.phase}").stdout == "Active"
    kubectl("delete", "namespace", other)


def test_server_side_apply(kubectl: Runner, ns: str) -> None:
    out = kubectl("apply", "--server-side", "-n", ns, "-f", "-",
                  stdin=CONFIGMAP.format(color="green"))
    assert out.stdout.strip() == "configmap/settings serverside-applied"
    obj = json.loads(kubectl("get", "-n", ns, "cm", "settings", "-o", "json",
                             "--show-managed-fields").stdout)
    assert obj["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert obj["metadata"]["managedFields"][0]["operation"] == "Apply"


def test_custom_resources(kubectl: Runner, widget_crd: dict, ns: str,
                          apiserver: ApiServer) -> None:
    kubectl("wait", "--for=condition=established", "crd/widgets.test.kubesim.io",
            "--timeout=10s")
    kubectl("apply", "-n", ns, "-f", str(MANIFESTS / "widget.yaml"))
    table = kubectl("get", "-n", ns, "widgets").stdout.split("\n")
    assert table[0].split() == ["NAME", "SIZE", "READY", "AGE"]
    assert table[1].split()[:2] == ["w1", "3"]
    assert kubectl("get", "-n", ns, "wg", "w1", "-o", "jsonpath={.spec.mode}").stdout == "fast"

    def set_ready() -> None:
        time.sleep(0.5)
        requests.patch(f"{apiserver.url}/apis/test.kubesim.io/v1/namespaces/{ns}/widgets/w1/status",
                       json={"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       headers={"Content-Type": "application/merge-patch+json"}, timeout=5)

    threading.Thread(target=set_ready).start()
    kubectl("wait", "-n", ns, "--for=condition=Ready", "widget/w1", "--timeout=10s")
    assert "True" in kubectl("get", "-n", ns, "widgets").stdout


def test_invalid_custom_resource_is_rejected(kubectl: Runner, widget_crd: dict, ns: str) -> None:
    bad = MANIFESTS.joinpath("widget.yaml").read_text().replace("size: 3", "size: -1")
    result = kubectl("apply", "-n", ns, "-f", "-", stdin=bad, check=False)
    assert result.returncode == 1
    assert 'The Widget "w1" is invalid: spec.size: Invalid value: -1: spec.size in body should ' \
           "be greater than or equal to 1" in result.stderr


def test_unknown_field_is_rejected_by_strict_validation(kubectl: Runner, widget_crd: dict,
                                                        ns: str) -> None:
    bad = MANIFESTS.joinpath("widget.yaml").read_text() + "  colour: red\n"
    result = kubectl("apply", "-n", ns, "-f", "-", stdin=bad, check=False)
    assert result.returncode == 1
    assert 'unknown field "spec.colour"' in result.stderr


def test_explain_custom_resource_field(kubectl: Runner, widget_crd: dict) -> None:
    out = kubectl("explain", "widget.spec.size").stdout
    assert "FIELD: size <integer>" in out and "How big the widget is." in out
