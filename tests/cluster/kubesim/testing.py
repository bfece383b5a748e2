"""Pytest fixtures for API server tests: one emulator per session, a namespace per test,
real `kubectl`/`helm` runners and the official Python client.

tests/cluster/conftest.py imports these; fixture names avoid those of the kubelet fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import requests
import yaml

from .apiserver import ApiServer
from .apiserver.options import Ctx, DeleteOptions

REPO = Path(__file__).resolve().parents[3]
TOOLS = REPO / ".tools" / "bin"
MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"

Runner = Callable[..., subprocess.CompletedProcess[str]]


MERGE = {"Content-Type": "application/merge-patch+json"}
# API prefixes of the kinds raw tests create; the rest are core (/api/v1).
PREFIXES = {"poddisruptionbudgets": "/apis/policy/v1", "replicasets": "/apis/apps/v1",
            "deployments": "/apis/apps/v1", "widgets": "/apis/test.kubesim.io/v1"}


class NamespaceApi:
    """Terse raw HTTP access to one namespace, for tests of the server's own semantics."""

    def __init__(self, base: str, ns: str) -> None:
        self.base, self.ns = base, ns

    def url(self, kind: str, name: str = "") -> str:
        prefix = PREFIXES.get(kind, "/api/v1")
        return f"{self.base}{prefix}/namespaces/{self.ns}/{kind}" + (f"/{name}" if name else "")

    def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.url(kind), json=body, timeout=5)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        response = requests.get(self.url(kind, name), timeout=5)
        return dict(response.json()) if response.status_code == 200 else None

    def delete(self, kind: str, name: str, **params: Any) -> requests.Response:
        return requests.delete(self.url(kind, name), params=params, timeout=5)

    def patch(self, kind: str, name: str, body: dict[str, Any]) -> requests.Response:
        return requests.patch(self.url(kind, name), json=body, headers=MERGE, timeout=5)


def tool(name: str) -> str:
    """The path of a client binary; `.tools/bin` (scripts/install-tools.sh) comes first."""
    path = shutil.which(name, path=os.pathsep.join([str(TOOLS), os.environ.get("PATH", "")]))
    if path is None:
        pytest.fail(f"{name} not found: run scripts/install-tools.sh")
    return path


@pytest.fixture(scope="session")
def apiserver() -> Iterator[ApiServer]:
    server = ApiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kubeconfig(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return apiserver.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> kubernetes.client.ApiClient:
    return kubernetes.config.new_client_from_config(str(kubeconfig))


@pytest.fixture(scope="session")
def widget_crd(apiserver: ApiServer) -> dict[str, Any]:
    """The test CRD `widgets.test.kubesim.io` (manifests/widgets-crd.yaml), established."""
    crd = yaml.safe_load((MANIFESTS / "widgets-crd.yaml").read_text())
    response = requests.post(f"{apiserver.url}/apis/apiextensions.k8s.io/v1/"
                             "customresourcedefinitions", json=crd, timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def ns(apiserver: ApiServer) -> Iterator[str]:
    """A fresh namespace, removed with everything in it (finalizers and all) afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    namespaces = apiserver.registry.get("", "v1", "namespaces")
    assert namespaces is not None
    apiserver.api.create(namespaces, "", {"metadata": {"name": name}}, Ctx())
    yield name
    for tkey, obj in apiserver.store.in_namespace(name):
        if apiserver.store.get(tkey, name, obj["metadata"]["name"]) is not None:
            apiserver.api.remove(tkey, obj)
    current = apiserver.store.get(("", "namespaces"), "", name)
    if current is not None:
        apiserver.api.gc.delete(("", "namespaces"), current, DeleteOptions())


def _runner(binary: str, kubeconfig: Path, home: Path) -> Runner:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def run(*args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            pytest.fail(f"{Path(binary).name} {' '.join(args)} failed ({proc.returncode}):\n"
                        f"{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Runs the real kubectl against the emulator: `kubectl("get", "pods", "-n", ns)`."""
    return _runner(tool("kubectl"), kubeconfig, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def helm(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return _runner(tool("helm"), kubeconfig, tmp_path_factory.mktemp("helm-home"))
