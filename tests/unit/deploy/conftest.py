"""Shared helpers for the deployment tests: tool lookup and chart rendering.

Tools come from PATH with `.tools/bin` first (scripts/install-tools.sh puts helm, kubectl and
checkov there). A missing tool fails the test with the command that installs it: a skipped
security check would pass silently in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "helm" / "kubenas"
NAMESPACE = "kubenas"
MONITORING = "monitoring.coreos.com/v1"


def tool(name: str) -> str:
    path = os.pathsep.join([str(REPO / ".tools" / "bin"), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        pytest.fail(f"{name} not found on PATH or in .tools/bin; run scripts/install-tools.sh",
                    pytrace=False)
    return found


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n"
                    f"{result.stderr}", pytrace=False)
    return result


def render(*args: str) -> str:
    return run(tool("helm"), "template", "kubenas", str(CHART), "--namespace", NAMESPACE,
               *args).stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """A Role's rules as (API group, resource) -> verbs."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


RENDERINGS = {
    "cluster-wide": (),
    "namespaced": ("--set", "watchNamespaces={team-a,team-b}"),
    "monitors-on": ("--api-versions", MONITORING, "--set", "podMonitor.enabled=true",
                    "--set", "serviceMonitor.enabled=true"),
    "monitors-on-namespaced": ("--api-versions", MONITORING, "--set", "podMonitor.enabled=true",
                               "--set", "serviceMonitor.enabled=true",
                               "--set", "watchNamespaces={team-a}"),
    "monitors-without-crds": ("--set", "podMonitor.enabled=true",
                              "--set", "serviceMonitor.enabled=true"),
}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Objects of every rendering, rendered once per session."""
    return {name: objects(render(*args)) for name, args in RENDERINGS.items()}
