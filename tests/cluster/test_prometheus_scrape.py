"""A pod's metrics reach Prometheus through the kubelet's file SD, and its result the API."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s
from kubesim.cluster import Cluster
from kubesim.testing_kubelet import python_pod, wait_for, wait_for_phase

TRAINER = """
    import json, os, pathlib, time
    from prometheus_client import Gauge, start_http_server
    Gauge("kubesim_test_accuracy", "a metric to scrape").set(0.75)
    start_http_server(9100, addr=os.environ["POD_IP"])
    go = pathlib.Path(os.environ["GO"])
    while not go.exists():
        time.sleep(0.05)
    pathlib.Path("/dev/termination-log").write_text(json.dumps({"accuracy": 0.75}))
"""


def test_prometheus_scrapes_pod_and_result_lands_in_status(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    manifest = python_pod("trial", TRAINER, env={"GO": str(tmp_path / "go")})
    manifest["metadata"] |= {
        "labels": {"kubenas.io/trial": "exp-3"},
        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9100"},
    }
    core.create_namespaced_pod(namespace, manifest)
    pod_ip = wait_for_phase(core, namespace, "trial", "Running").status.pod_ip
    assert cluster.prometheus is not None

    query = f'kubesim_test_accuracy{{namespace="{namespace}"}}'
    [sample] = wait_for(lambda: cluster.prometheus.query(query), timeout=20, what="a scrape")
    assert float(sample["value"][1]) == 0.75
    assert sample["metric"]["pod"] == "trial"
    assert sample["metric"]["kubenas_io_trial"] == "exp-3"
    assert sample["metric"]["instance"] == f"{pod_ip}:9100"

    (tmp_path / "go").touch()
    done = wait_for_phase(core, namespace, "trial", "Succeeded")
    assert done.status.container_statuses[0].state.terminated.message == '{"accuracy": 0.75}'
    assert "trial" not in cluster.kubelet.targets_path.read_text()
