"""The whole test cluster: API server emulator, process kubelet and scheduler, the Job
controller, Prometheus."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import yaml

from .apiserver import ApiServer
from .controllers import JobController
from .kubelet import ImageCommands, Kubelet, NodeSpec, default_nodes
from .kubelet.client import ApiClient, ApiError
from .prometheus import Prometheus

REPO = Path(__file__).resolve().parents[3]
TOOLS_BIN = REPO / ".tools" / "bin"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def default_image_commands() -> ImageCommands:
    """The images this repository builds, as the commands their entrypoints run."""
    return {
        "ghcr.io/kubenas/trainer*": [sys.executable, "-m", "kubenas_trainer"],
        "ghcr.io/kubenas/operator*": [sys.executable, "-m", "kubenas.cli"],
    }


class Cluster:
    """Start with `start()` or `with`; `stop()` ends every process it started.

    The CRDs under `crds/` are installed, so the operator's kinds are served from the start.
    """

    def __init__(
        self,
        workdir: Path,
        nodes: list[NodeSpec] | None = None,
        image_commands: ImageCommands | None = None,
        prometheus: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.kubeconfig = self.workdir / "kubeconfig"
        self.env_file = self.workdir / "env"
        self.apiserver = ApiServer()
        self._nodes = nodes if nodes is not None else default_nodes()
        self._image_commands = (
            image_commands if image_commands is not None else default_image_commands()
        )
        self._with_prometheus = prometheus
        self.kubelet: Kubelet | None = None
        self.jobs: JobController | None = None
        self.prometheus: Prometheus | None = None

    @property
    def url(self) -> str:
        return self.apiserver.url

    @property
    def prometheus_url(self) -> str:
        return self.prometheus.url if self.prometheus else ""

    def start(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.apiserver.start()
            self.apiserver.write_kubeconfig(self.kubeconfig)
            apply_crds(ApiClient(self.url), REPO / "crds")
            python_path = [str(REPO / "operator"), str(REPO / "trainer_image")]
            if os.environ.get("PYTHONPATH"):
                python_path.append(os.environ["PYTHONPATH"])
            # Pods find this repository's packages and console scripts (as its images have
            # them) and reach the API through the kubeconfig.
            pod_env = {
                "KUBECONFIG": str(self.kubeconfig),
                "PYTHONPATH": os.pathsep.join(python_path),
                "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                         os.environ.get("PATH", "")]),
            }
            self.kubelet = Kubelet(
                self.url, self.workdir / "kubelet", self._nodes, self._image_commands, pod_env
            )
            self.kubelet.start()
            self.apiserver.hooks.pod_log = self.kubelet.pod_log
            self.jobs = JobController(self.url)
            self.jobs.start()
            if self._with_prometheus:
                self.prometheus = Prometheus(self.workdir / "prometheus", self.kubelet.targets_path)
                self.prometheus.start()
        except BaseException:
            self.stop()
            raise
        self._write_env()
        return self

    def _write_env(self) -> None:
        values = {
            "KUBECONFIG": str(self.kubeconfig),
            "KUBESIM_API_URL": self.url,
            "PROMETHEUS_URL": self.prometheus_url,
        }
        lines = [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
        lines.append(f'export PATH={shlex.quote(str(TOOLS_BIN))}:"$PATH"')
        self.env_file.write_text("\n".join(lines) + "\n")

    def stop(self) -> None:
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.jobs is not None:
            self.jobs.stop()
        if self.kubelet is not None:
            self.kubelet.stop()
        self.apiserver.stop()
        self.env_file.unlink(missing_ok=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def apply_crds(api: ApiClient, directory: Path) -> None:
    """Creates (or replaces) every CustomResourceDefinition in `directory`'s YAML files."""
    for path in sorted(directory.glob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            try:
                api.post(CRD_PATH, doc)
            except ApiError as err:
                if err.status != 409:
                    raise
                current = api.get(f"{CRD_PATH}/{doc['metadata']['name']}")
                doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                api.request("PUT", f"{CRD_PATH}/{doc['metadata']['name']}", doc)
