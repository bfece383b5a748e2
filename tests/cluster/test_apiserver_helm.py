"""The real helm (v4) installs, upgrades and uninstalls a chart on the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from kubesim.testing import Runner

CHART = Path(__file__).parent / "charts" / "smoke"


def test_install_upgrade_uninstall(helm: Runner, kubectl: Runner, ns: str) -> None:
    helm("install", "demo", str(CHART), "-n", ns)
    config = json.loads(kubectl("get", "-n", ns, "cm", "demo-config", "-o", "json").stdout)
    assert config["data"] == {"greeting": "hello"}
    assert config["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    kubectl("get", "-n", ns, "deployment/demo-app", "serviceaccount/demo-sa")
    releases = json.loads(kubectl("get", "-n", ns, "secrets", "-l", "owner=helm",
                                  "-o", "json").stdout)["items"]
    assert [s["metadata"]["name"] for s in releases] == ["sh.helm.release.v1.demo.v1"]

    helm("upgrade", "demo", str(CHART), "-n", ns, "--set", "greeting=hi", "--set", "replicas=2")
    greeting = kubectl("get", "-n", ns, "cm", "demo-config", "-o", "jsonpath={.data.greeting}")
    assert greeting.stdout == "hi"
    replicas = kubectl("get", "-n", ns, "deploy", "demo-app", "-o", "jsonpath={.spec.replicas}")
    assert replicas.stdout == "2"
    listed = json.loads(helm("list", "-n", ns, "-o", "json").stdout)
    assert [(r["name"], r["revision"], r["status"]) for r in listed] == [
        ("demo", "2", "deployed")]

    helm("uninstall", "demo", "-n", ns)
    left = kubectl("get", "-n", ns, "cm,deploy,sa,secrets", "-o", "name").stdout
    assert left.strip() == ""
