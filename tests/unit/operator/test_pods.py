"""Rendering a trial's pod from the template."""

from __future__ import annotations

import json

from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.backends.kubernetes import pods

from .conftest import manifest

TEMPLATE = {
    "image": "ghcr.io/kubenas/trainer:1", "resources": {"limits": {"nvidia.com/gpu": 1}},
    "nodeSelector": {"pool": "gpu"}, "tolerations": [{"key": "nvidia.com/gpu",
                                                      "operator": "Exists"}],
    "priorityClassName": "batch", "runtimeClassName": "nvidia", "queueName": "team-a",
    "checkpointDir": "/ckpt", "env": [{"name": "EXTRA", "value": "1"}],
}


def _render(template: dict | None = None, attempt: int = 0, parent: int | None = None,
            **budget: object) -> dict:
    exp = parse(manifest(budget=dict(budget), template=template or {}))
    trials = [Trial(0, {"depth": 1, "width": 16}, 2.0),
              Trial(1, {"depth": 1, "width": 16}, 6.0, rung=1, parent=parent)]
    obj = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASTrial",
           "metadata": {"name": "e-1", "uid": "u1"}, "spec": {"index": 1, "seed": 7}}
    return pods.render(exp, obj, trials, attempt, "default:img")


def _env(pod: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in
            pod["spec"]["containers"][0]["env"]}


def test_the_trial_contract_and_defaults() -> None:
    pod = _render(attempt=2, trialTimeout="90s")
    spec, container = pod["spec"], pod["spec"]["containers"][0]
    assert pod["metadata"]["name"] == "e-1-a2"
    assert pod["metadata"]["labels"] == {"kubenas.io/experiment": "e", "kubenas.io/trial": "e-1",
                                         "app.kubernetes.io/managed-by": "kubenas"}
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "9090"
    owner = pod["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("NASTrial", "u1", True)
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    assert spec["activeDeadlineSeconds"] == 90
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["image"] == "default:img" and "command" not in container
    assert container["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    env = _env(pod)
    assert env["POD_IP"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["KUBENAS_SEED"] == "7" and env["KUBENAS_BUDGET"] == "6"
    assert json.loads(env["KUBENAS_ARCHITECTURE"]) == {"family": "macro_cnn",
                                                       "params": {"depth": 1, "width": 16}}
    assert "KUBENAS_CHECKPOINT_DIR" not in env


def test_scheduling_fields_pass_through() -> None:
    pod = _render(TEMPLATE, parent=0)
    spec, container = pod["spec"], pod["spec"]["containers"][0]
    assert container["image"] == TEMPLATE["image"]
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 1}}
    assert spec["nodeSelector"] == {"pool": "gpu"}
    assert spec["tolerations"] == TEMPLATE["tolerations"]
    assert (spec["priorityClassName"], spec["runtimeClassName"]) == ("batch", "nvidia")
    assert pod["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "team-a"
    env = _env(pod)
    assert env["KUBENAS_CHECKPOINT_DIR"] == "/ckpt/e-1"
    assert env["KUBENAS_RESUME_FROM"] == "/ckpt/e-0"
    assert env["EXTRA"] == "1"
    assert pods.gpus_per_trial(TEMPLATE) == 1


def test_a_pod_spec_keeps_its_sidecars_and_the_trainer_honours_the_contract() -> None:
    template = {"podSpec": {
        "containers": [{"name": "proxy", "image": "envoy:1"},
                       {"name": "trainer", "image": "mine:2", "env": [{"name": "MINE",
                                                                        "value": "x"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}],
        "securityContext": {"runAsUser": 2000, "runAsNonRoot": True}},
        "volumes": [{"name": "scratch", "emptyDir": {}}]}
    pod = _render(template)
    sidecar, trainer = pod["spec"]["containers"]
    assert sidecar == {"name": "proxy", "image": "envoy:1"}
    assert trainer["image"] == "mine:2"
    env = {e["name"]: e.get("value") for e in trainer["env"]}
    assert env["MINE"] == "x" and env["KUBENAS_SEED"] == "7"
    assert trainer["ports"][-1]["name"] == "metrics"
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["data", "scratch"]
    assert pod["spec"]["securityContext"] == {"runAsUser": 2000, "runAsNonRoot": True}
    assert pod["spec"]["restartPolicy"] == "Never"


def test_a_job_workload_is_an_indexed_job_the_operator_retries_itself() -> None:
    job = _render({"workload": {"kind": "Job", "replicas": 3}}, attempt=1, trialTimeout="60s")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    assert job["metadata"]["name"] == "e-1-a1"
    assert job["metadata"]["ownerReferences"][0]["uid"] == "u1"
    spec = job["spec"]
    assert (spec["completions"], spec["parallelism"]) == (3, 3)
    assert spec["completionMode"] == "Indexed" and spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 60
    assert "activeDeadlineSeconds" not in spec["template"]["spec"]
    assert spec["template"]["metadata"]["labels"]["kubenas.io/trial"] == "e-1"
    assert _env({"spec": spec["template"]["spec"]})["KUBENAS_SEED"] == "7"


def test_spec_export_dir_gives_each_trial_its_own_model_folder() -> None:
    exp = parse(manifest(export={"dir": "/models/run/", "quantize": "int8"}))
    trials = [Trial(0, {"depth": 1, "width": 16}, 2.0)]
    obj = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASTrial",
           "metadata": {"name": "e-0", "uid": "u0"}, "spec": {"index": 0, "seed": 7}}
    env = _env(pods.render(exp, obj, trials, 0, "default:img"))
    assert env["KUBENAS_EXPORT_DIR"] == "/models/run/e-0"
    export = json.loads(env["KUBENAS_EXPORT"])
    assert export["quantize"] == "int8"
    assert export["foundBy"] == {"tool": "kubenas", "experiment": "e", "namespace": "ns",
                                 "strategy": "random", "searchSpace": "macro_cnn",
                                 "trial": "e-0", "budget": 2.0, "resource": "epochs",
                                 "seed": 7}
    assert "KUBENAS_EXPORT_DIR" not in _env(_render())  # no dir: trials do not export
