"""A trial pod as the operator makes it (image only, contract in env) runs the real trainer."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubesim.testing_kubelet import wait_for_phase

ARCHITECTURE = {"family": "macro_cnn", "params": {"depth": 1, "width": 8, "op": ["conv3x3"]}}


@pytest.mark.slow
def test_trainer_image_runs_and_reports_through_the_termination_message(
    core: k8s.CoreV1Api, namespace: str
) -> None:
    env = {
        "KUBENAS_TRIAL": "exp-0",
        "KUBENAS_ARCHITECTURE": json.dumps(ARCHITECTURE),
        "KUBENAS_BUDGET": "1",
        "KUBENAS_SEED": "1",
        "KUBENAS_TRAINING": json.dumps({"dataset": "digits"}),
        "KUBENAS_METRICS_PORT": "9090",
    }
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "exp-0", "labels": {"kubenas.io/trial": "exp-0"}},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "trainer",
            "image": "ghcr.io/kubenas/trainer:0.1.0",
            "env": [{"name": k, "value": v} for k, v in env.items()],
        }]},
    })
    pod = wait_for_phase(core, namespace, "exp-0", "Succeeded", "Failed", timeout=90)
    log = core.read_namespaced_pod_log("exp-0", namespace)
    assert pod.status.phase == "Succeeded", log
    result = json.loads(pod.status.container_statuses[0].state.terminated.message)
    assert result["epochs_trained"] == 1 and 0 <= result["metrics"]["val_accuracy"] <= 1
    last = log.splitlines()[-1]
    assert last.startswith("KUBENAS_RESULT ") and json.loads(last.split(" ", 1)[1]) == result
