"""`python -m kubesim up/down` (what `make cluster-up`/`cluster-down` run) with real kubectl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from kubesim.cluster import REPO, TOOLS_BIN

KUBESIM_PATH = str(Path(__file__).resolve().parent)


def kubesim(*args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": KUBESIM_PATH}
    return subprocess.run([sys.executable, "-m", "kubesim", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)


def sourced(env_file: Path) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f"source {env_file} && env -0"], text=True,
                         capture_output=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.split("\0") if "=" in line)


def test_up_serves_kubectl_and_down_stops_everything(tmp_path: Path) -> None:
    if not (TOOLS_BIN / "kubectl").exists():
        pytest.fail("kubectl is missing from .tools/bin: run scripts/install-tools.sh")
    directory = tmp_path / "cluster"
    started = kubesim("up", "--dir", str(directory))
    assert started.returncode == 0, started.stderr
    try:
        env = sourced(directory / "env")
        assert env["PATH"].split(":")[0] == str(TOOLS_BIN)
        nodes = subprocess.run(["kubectl", "get", "nodes", "-o", "name"], env=env, text=True,
                               capture_output=True, check=True).stdout.split()
        assert nodes == ["node/cpu-0", "node/cpu-1", "node/gpu-0"]
        crds = subprocess.run(["kubectl", "get", "crd", "-o", "name"], env=env, text=True,
                              capture_output=True, check=True).stdout.split()
        expected = {"customresourcedefinition.apiextensions.k8s.io/"
                    + yaml.safe_load(path.read_text())["metadata"]["name"]
                    for path in (REPO / "crds").glob("*.yaml")}
        assert expected <= set(crds)
        assert requests.get(env["PROMETHEUS_URL"] + "/-/ready", timeout=5).ok
        assert kubesim("up", "--dir", str(directory)).stdout.startswith("kubesim: already running")
    finally:
        stopped = kubesim("down", "--dir", str(directory))
    assert stopped.returncode == 0, stopped.stderr
    assert not (directory / "env").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(env["PROMETHEUS_URL"] + "/-/ready", timeout=5)
