"""Pods run as processes and report status the way a real kubelet does."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubesim.cluster import Cluster
from kubesim.testing_kubelet import python_pod, scheduling_message, wait_for, wait_for_phase

WAIT_FOR_GO = """
    import os, pathlib, time
    go = pathlib.Path(os.environ["GO"])
    while not go.exists():
        time.sleep(0.02)
"""
SLEEP = "import time\ntime.sleep(60)"


def conditions(pod: k8s.V1Pod) -> dict[str, str]:
    return {c.type: c.status for c in pod.status.conditions}


def terminated(pod: k8s.V1Pod) -> k8s.V1ContainerStateTerminated:
    return pod.status.container_statuses[0].state.terminated


def test_pod_runs_then_succeeds_with_its_termination_message(
    core: k8s.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    script = WAIT_FOR_GO + """
    message = f"{os.environ['POD_IP']} {os.environ['MY_NAME']} {os.getcwd()}"
    pathlib.Path(os.environ["RESULT"]).write_text(message)
    """
    manifest = python_pod("ok", script, env={"GO": str(tmp_path / "go"),
                                            "RESULT": "/dev/termination-log"})
    manifest["spec"]["containers"][0]["env"].append(
        {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    core.create_namespaced_pod(namespace, manifest)

    running = wait_for_phase(core, namespace, "ok", "Running")
    assert conditions(running) == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
        "ContainersReady": "True", "PodScheduled": "True",
    }
    assert running.status.pod_ip.startswith("127.0.") and running.status.host_ip == "127.0.0.1"
    assert running.status.start_time is not None
    assert running.status.container_statuses[0].state.running.started_at is not None

    (tmp_path / "go").touch()
    done = wait_for_phase(core, namespace, "ok", "Succeeded")
    state = terminated(done)
    assert (state.exit_code, state.reason) == (0, "Completed")
    ip, name, cwd = state.message.split()
    assert (ip, name) == (running.status.pod_ip, "ok")
    assert Path(cwd).is_absolute()
    assert state.finished_at >= state.started_at
    assert conditions(done)["Ready"] == "False"


def test_failing_pod_reports_error_with_log_tail(core: k8s.CoreV1Api, namespace: str) -> None:
    manifest = python_pod("bad", "import sys\nprint('boom: bad input')\nsys.exit(1)")
    manifest["spec"]["containers"][0]["terminationMessagePolicy"] = "FallbackToLogsOnError"
    core.create_namespaced_pod(namespace, manifest)
    state = terminated(wait_for_phase(core, namespace, "bad", "Failed"))
    assert (state.exit_code, state.reason, state.message.strip()) == (1, "Error", "boom: bad input")
    assert core.read_namespaced_pod_log("bad", namespace) == "boom: bad input\n"


def test_active_deadline_fails_the_pod(core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, python_pod("slow", SLEEP, activeDeadlineSeconds=1))
    pod = wait_for_phase(core, namespace, "slow", "Failed")
    assert pod.status.reason == "DeadlineExceeded"
    assert pod.status.message == "Pod was active on the node longer than the specified deadline"
    assert terminated(pod).exit_code == 143  # python dies of the SIGTERM


def test_deletion_sends_sigterm_then_sigkill_after_grace(
    core: k8s.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    script = """
    import os, pathlib, signal, time
    marker = pathlib.Path(os.environ["MARKER"])
    pathlib.Path(os.environ["PID"]).write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: marker.write_text("term"))
    while True:
        time.sleep(0.05)
    """
    env = {"MARKER": str(tmp_path / "marker"), "PID": str(tmp_path / "pid")}
    core.create_namespaced_pod(namespace, python_pod("stubborn", script, env=env))
    wait_for_phase(core, namespace, "stubborn", "Running")
    pid = int(wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text()))

    started = time.monotonic()
    core.delete_namespaced_pod("stubborn", namespace, grace_period_seconds=1)
    wait_for(lambda: not core.list_namespaced_pod(namespace).items, what="pod removal")
    assert time.monotonic() - started >= 1.0
    assert (tmp_path / "marker").read_text() == "term"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_evicted_pod_fails_with_reason_evicted(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_pod(namespace, python_pod("victim", SLEEP))
    wait_for_phase(core, namespace, "victim", "Running")
    assert cluster.kubelet is not None
    cluster.kubelet.evict(namespace, "victim")
    pod = wait_for_phase(core, namespace, "victim", "Failed")
    assert pod.status.reason == "Evicted"
    assert pod.status.message.startswith("The node was low on resource: memory.")
    assert conditions(pod)["DisruptionTarget"] == "True"


def test_eviction_api_kills_the_process(
    core: k8s.CoreV1Api, namespace: str, tmp_path: Path
) -> None:
    script = "import os, time\nopen(os.environ['PID'], 'w').write(str(os.getpid()))\n" + SLEEP
    core.create_namespaced_pod(namespace, python_pod("evictee", script,
                                                     env={"PID": str(tmp_path / "pid")}))
    wait_for_phase(core, namespace, "evictee", "Running")
    pid = int(wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text()))
    eviction = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name="evictee", namespace=namespace))
    core.create_namespaced_pod_eviction("evictee", namespace, eviction)
    pod = core.read_namespaced_pod("evictee", namespace)
    assert pod.metadata.deletion_timestamp is not None  # a graceful delete, not a verdict
    assert conditions(pod)["DisruptionTarget"] == "True"
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="the evicted process to die")
    wait_for(lambda: not core.list_namespaced_pod(namespace).items,
             what="the kubelet to remove the evicted pod")


def test_oom_kill_reports_exit_137(cluster: Cluster, core: k8s.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_pod(namespace, python_pod("hungry", SLEEP))
    wait_for_phase(core, namespace, "hungry", "Running")
    assert cluster.kubelet is not None
    cluster.kubelet.oom_kill(namespace, "hungry")
    state = terminated(wait_for_phase(core, namespace, "hungry", "Failed"))
    assert (state.exit_code, state.reason) == (137, "OOMKilled")


def test_lost_node_fails_its_pods_and_takes_no_new_ones(
    cluster: Cluster, core: k8s.CoreV1Api, namespace: str
) -> None:
    pinned = {"nodeSelector": {"kubernetes.io/hostname": "cpu-1"}}
    core.create_namespaced_pod(namespace, python_pod("on-cpu-1", SLEEP, **pinned))
    wait_for_phase(core, namespace, "on-cpu-1", "Running")
    assert cluster.kubelet is not None
    cluster.kubelet.set_node_ready("cpu-1", False)
    try:
        pod = wait_for_phase(core, namespace, "on-cpu-1", "Failed")
        assert pod.status.reason == "NodeLost"
        node = core.read_node("cpu-1")
        assert [c.status for c in node.status.conditions if c.type == "Ready"] == ["Unknown"]
        core.create_namespaced_pod(namespace, python_pod("waiting", SLEEP, **pinned))
        wait_for(
            lambda: "untolerated taint {node.kubernetes.io/unreachable: }"
            in scheduling_message(core, namespace, "waiting"),
            what="Unschedulable condition",
        )
    finally:
        cluster.kubelet.set_node_ready("cpu-1", True)
    assert wait_for_phase(core, namespace, "waiting", "Running").spec.node_name == "cpu-1"


def test_image_without_command_or_mapping_fails_to_start(
    core: k8s.CoreV1Api, namespace: str
) -> None:
    manifest = python_pod("imageonly", "")
    del manifest["spec"]["containers"][0]["command"]
    manifest["spec"]["containers"][0]["image"] = "busybox:1.36"
    core.create_namespaced_pod(namespace, manifest)
    state = terminated(wait_for_phase(core, namespace, "imageonly", "Failed"))
    assert (state.exit_code, state.reason) == (128, "StartError")
    assert "image 'busybox:1.36' has no entry in the cluster's image_commands" in state.message
