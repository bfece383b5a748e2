"""batch/v1 Jobs run by the Job controller: pods from the template, counts and conditions.

The conditions are those the Kubernetes 1.35 controller writes: `SuccessCriteriaMet` then
`Complete` (reason `CompletionsReached`), `FailureTarget` then `Failed` (reasons
`BackoffLimitExceeded`, `DeadlineExceeded`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubesim.cluster import Cluster
from kubesim.testing import Runner, _runner, tool
from kubesim.testing_kubelet import python_pod, wait_for

EXIT_0 = "print('done')"
EXIT_1 = "raise SystemExit(1)"
SLEEP = "import time\ntime.sleep(60)"
WAIT_FOR_GO = """
    import os, pathlib, time
    go = pathlib.Path(os.environ["GO"])
    while not go.exists():
        time.sleep(0.05)
"""


@pytest.fixture
def batch(core: k8s.CoreV1Api) -> k8s.BatchV1Api:
    return k8s.BatchV1Api(core.api_client)


@pytest.fixture(scope="module")
def kubectl_in(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return _runner(tool("kubectl"), cluster.kubeconfig, tmp_path_factory.mktemp("jobs-home"))


@pytest.fixture
def fast_backoff(cluster: Cluster) -> Iterator[None]:
    """The real pod failure backoff is 10 s, doubling; tests wait 0.2 s instead."""
    assert cluster.jobs is not None
    saved = cluster.jobs.pod_failure_backoff
    cluster.jobs.pod_failure_backoff = 0.2
    yield
    cluster.jobs.pod_failure_backoff = saved


def job(name: str, script: str, env: dict[str, str] | None = None, **spec: Any) -> dict:
    pod = python_pod("unused", script, env)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": pod["spec"]},
                     **spec}}


def status_of(batch: k8s.BatchV1Api, ns: str, name: str) -> dict[str, Any]:
    raw = batch.read_namespaced_job_status(name, ns, _preload_content=False)
    return dict(json.loads(raw.data)["status"])


def conditions(status: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c.get("reason", ""), c.get("message", ""))
            for c in status.get("conditions") or []]


def wait_condition(batch: k8s.BatchV1Api, ns: str, name: str, kind: str,
                   timeout: float = 30) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = status_of(batch, ns, name)
        return status if any(c[0] == kind and c[1] == "True" for c in conditions(status)) \
            else None
    return wait_for(reached, timeout, f"job {name} to be {kind}")


def pods_of(core: k8s.CoreV1Api, ns: str, name: str) -> list[k8s.V1Pod]:
    return core.list_namespaced_pod(ns, label_selector=f"batch.kubernetes.io/job-name={name}"
                                    ).items


def events_of(core: k8s.CoreV1Api, ns: str, name: str) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in core.list_namespaced_event(
        ns, field_selector=f"involvedObject.name={name}").items]


def test_job_runs_its_pods_to_complete(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                       namespace: str, kubectl_in: Runner) -> None:
    created = batch.create_namespaced_job(namespace, job("train", EXIT_0, completions=2))
    uid = created.metadata.uid
    spec = created.spec
    assert (spec.parallelism, spec.backoff_limit, spec.completion_mode, spec.suspend,
            spec.pod_replacement_policy) == (1, 6, "NonIndexed", False, "TerminatingOrFailed")
    assert spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.metadata.labels == {"app": "train"}
    kubectl_in("wait", "--for=condition=complete", "job/train", "-n", namespace,
               "--timeout=60s", timeout=70)
    status = status_of(batch, namespace, "train")
    assert {k: status.get(k) for k in ("succeeded", "ready", "terminating", "active",
                                       "uncountedTerminatedPods")} == {
        "succeeded": 2, "ready": 0, "terminating": 0, "active": None,
        "uncountedTerminatedPods": {}}
    assert status["startTime"] <= status["completionTime"]
    reached = "Reached expected number of succeeded pods"
    assert conditions(status) == [("SuccessCriteriaMet", "True", "CompletionsReached", reached),
                                  ("Complete", "True", "CompletionsReached", reached)]
    pods = pods_of(core, namespace, "train")
    assert len(pods) == 2
    for pod in pods:
        assert pod.metadata.name.startswith("train-") and len(pod.metadata.name) == 11
        assert pod.metadata.labels == {
            "app": "train", "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
            "batch.kubernetes.io/job-name": "train", "job-name": "train"}
        ref = pod.metadata.owner_references[0]
        assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
            "Job", "train", uid, True, True)
        assert not pod.metadata.finalizers  # counted, so the tracking finalizer is gone
        assert pod.status.phase == "Succeeded"
    seen = events_of(core, namespace, "train")
    assert ("Normal", "Completed", "Job completed") in seen
    assert sorted(m for t, r, m in seen if r == "SuccessfulCreate") == sorted(
        f"Created pod: {p.metadata.name}" for p in pods)
    table = kubectl_in("get", "jobs", "-n", namespace).stdout.split()
    assert table[:5] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert table[5:8] == ["train", "Complete", "2/2"]


def test_parallelism_caps_the_active_pods(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                          namespace: str, tmp_path: Path) -> None:
    batch.create_namespaced_job(namespace, job("wide", WAIT_FOR_GO, {"GO": str(tmp_path / "go")},
                                               completions=4, parallelism=2))
    wait_for(lambda: status_of(batch, namespace, "wide").get("ready") == 2, timeout=30,
             what="two ready pods")
    assert len(pods_of(core, namespace, "wide")) == 2
    assert status_of(batch, namespace, "wide")["active"] == 2
    (tmp_path / "go").write_text("")
    status = wait_condition(batch, namespace, "wide", "Complete")
    assert status["succeeded"] == 4 and len(pods_of(core, namespace, "wide")) == 4


def test_indexed_job_gives_each_pod_its_index(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                              namespace: str, tmp_path: Path) -> None:
    script = ("import os, pathlib\npathlib.Path(os.environ['OUT'], "
              "os.environ['JOB_COMPLETION_INDEX']).write_text(os.environ['HOSTNAME'])")
    batch.create_namespaced_job(namespace, job("shard", script, {"OUT": str(tmp_path)},
                                               completions=3, parallelism=3,
                                               completionMode="Indexed"))
    status = wait_condition(batch, namespace, "shard", "Complete")
    assert (status["completedIndexes"], status["succeeded"]) == ("0-2", 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2"]
    for pod in pods_of(core, namespace, "shard"):
        index = pod.metadata.annotations["batch.kubernetes.io/job-completion-index"]
        assert pod.metadata.labels["batch.kubernetes.io/job-completion-index"] == index
        assert pod.metadata.name.startswith(f"shard-{index}-")
        assert pod.spec.hostname == f"shard-{index}"
        env = {e.name: e for e in pod.spec.containers[0].env}
        assert env["JOB_COMPLETION_INDEX"].value_from.field_ref.field_path == \
            "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def test_backoff_limit_fails_the_job(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                     namespace: str, fast_backoff: None) -> None:
    batch.create_namespaced_job(namespace, job("crash", EXIT_1, backoffLimit=1))
    status = wait_condition(batch, namespace, "crash", "Failed")
    message = "Job has reached the specified backoff limit"
    assert conditions(status) == [("FailureTarget", "True", "BackoffLimitExceeded", message),
                                  ("Failed", "True", "BackoffLimitExceeded", message)]
    assert status["failed"] == 2 and "succeeded" not in status
    assert "completionTime" not in status
    assert [p.status.phase for p in pods_of(core, namespace, "crash")] == ["Failed", "Failed"]
    assert ("Warning", "BackoffLimitExceeded", message) in events_of(core, namespace, "crash")


def test_active_deadline_terminates_the_pods(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                             namespace: str) -> None:
    batch.create_namespaced_job(namespace, job("slow", SLEEP, parallelism=2, completions=2,
                                               activeDeadlineSeconds=2))
    wait_for(lambda: status_of(batch, namespace, "slow").get("active") == 2, timeout=20,
             what="two active pods")
    status = wait_condition(batch, namespace, "slow", "Failed", timeout=30)
    message = "Job was active longer than specified deadline"
    assert conditions(status) == [("FailureTarget", "True", "DeadlineExceeded", message),
                                  ("Failed", "True", "DeadlineExceeded", message)]
    assert status["failed"] == 2 and status["terminating"] == 0
    wait_for(lambda: not pods_of(core, namespace, "slow"), what="the deleted pods to go")
    assert [r for _, r, _ in events_of(core, namespace, "slow")].count("SuccessfulDelete") == 2


def test_suspend_and_resume(core: k8s.CoreV1Api, batch: k8s.BatchV1Api, namespace: str) -> None:
    batch.create_namespaced_job(namespace, job("later", SLEEP, suspend=True))
    wait_for(lambda: any(c[0] == "Suspended" for c in conditions(
        status_of(batch, namespace, "later"))), what="the Suspended condition")
    status = status_of(batch, namespace, "later")
    assert conditions(status) == [("Suspended", "True", "JobSuspended", "Job suspended")]
    assert "startTime" not in status and not pods_of(core, namespace, "later")

    batch.patch_namespaced_job("later", namespace, {"spec": {"suspend": False}})
    wait_for(lambda: status_of(batch, namespace, "later").get("ready") == 1, timeout=20,
             what="the resumed pod to run")
    status = status_of(batch, namespace, "later")
    assert conditions(status) == [("Suspended", "False", "JobResumed", "Job resumed")]
    assert status["startTime"]

    batch.patch_namespaced_job("later", namespace, {"spec": {"suspend": True}})
    wait_for(lambda: not pods_of(core, namespace, "later"), what="the suspended pod to go")
    status = status_of(batch, namespace, "later")
    assert "failed" not in status  # pods removed by a suspend are not failures
    assert conditions(status)[0][:3] == ("Suspended", "True", "JobSuspended")


def test_deleting_a_job_cascades_to_its_pods(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                             namespace: str, kubectl_in: Runner) -> None:
    batch.create_namespaced_job(namespace, job("gone", SLEEP))
    wait_for(lambda: status_of(batch, namespace, "gone").get("ready") == 1, timeout=20,
             what="the pod to run")
    kubectl_in("delete", "job", "gone", "-n", namespace)  # propagationPolicy=Background
    wait_for(lambda: not pods_of(core, namespace, "gone"), timeout=20,
             what="the job's pods to be collected")


def test_default_delete_orphans_the_pods_with_a_warning(core: k8s.CoreV1Api,
                                                        batch: k8s.BatchV1Api,
                                                        namespace: str) -> None:
    batch.create_namespaced_job(namespace, job("kept", SLEEP))
    wait_for(lambda: status_of(batch, namespace, "kept").get("ready") == 1, timeout=20,
             what="the pod to run")
    response = batch.delete_namespaced_job("kept", namespace, _preload_content=False)
    assert "child pods are preserved by default when jobs are deleted" in \
        response.headers["Warning"]
    (pod,) = wait_for(lambda: [p for p in pods_of(core, namespace, "kept")
                               if not p.metadata.finalizers], timeout=20,
                      what="the orphan to lose its tracking finalizer")
    assert not pod.metadata.owner_references and pod.status.phase == "Running"


def test_refused_pod_creation_is_an_event(core: k8s.CoreV1Api, batch: k8s.BatchV1Api,
                                          namespace: str) -> None:
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "none"},
                                                      "spec": {"hard": {"pods": "0"}}})
    batch.create_namespaced_job(namespace, job("blocked", EXIT_0))
    failed = wait_for(lambda: [m for t, r, m in events_of(core, namespace, "blocked")
                               if r == "FailedCreate"], what="a FailedCreate event")
    assert failed[0].startswith('Error creating: pods "blocked-')
    assert "is forbidden: exceeded quota: none, requested: pods=1, used: pods=0, limited: " \
           "pods=0" in failed[0]
    assert not pods_of(core, namespace, "blocked")
    assert status_of(batch, namespace, "blocked").get("active") is None


def test_job_validation(batch: k8s.BatchV1Api, namespace: str) -> None:
    bad = job("always", EXIT_0)
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    with pytest.raises(k8s.ApiException) as caught:
        batch.create_namespaced_job(namespace, bad)
    assert caught.value.status == 422
    assert json.loads(caught.value.body)["message"] == (
        'Job.batch "always" is invalid: spec.template.spec.restartPolicy: Unsupported value: '
        '"Always": supported values: "OnFailure", "Never"')
