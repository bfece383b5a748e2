"""The kubelet rides out an API server restart: its level-triggered loop catches up."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s
from kubesim.cluster import Cluster
from kubesim.testing_kubelet import python_pod, wait_for_phase


def test_pod_finishes_across_an_apiserver_restart(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    script = """
    import os, pathlib, time
    while not pathlib.Path(os.environ["GO"]).exists():
        time.sleep(0.02)
    """
    core.create_namespaced_pod(namespace, python_pod("survivor", script,
                                                     env={"GO": str(tmp_path / "go")}))
    wait_for_phase(core, namespace, "survivor", "Running")
    cluster.apiserver.stop()
    (tmp_path / "go").touch()
    cluster.apiserver.start()
    assert wait_for_phase(core, namespace, "survivor", "Succeeded").status.pod_ip
