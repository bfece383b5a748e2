"""How a pod's containers become local processes: commands, environment, paths."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pytest
from kubesim.kubelet.podspec import SpecError, launch, volume_dirs

IMAGES = {"ghcr.io/kubenas/trainer*": [sys.executable, "-m", "kubenas_trainer"]}
OBJECTS = {
    ("configmaps", "ns", "settings"): {"data": {"mode": "fast"}},
    ("secrets", "ns", "token"): {"data": {"value": base64.b64encode(b"s3cret").decode()}},
}


def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


def make_pod(container: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "labels": {"app": "x"}},
        "spec": {"nodeName": "cpu-0", "containers": [container], "volumes": volumes or []},
        "status": {"podIP": "127.0.0.7", "podIPs": [{"ip": "127.0.0.7"}], "hostIP": "127.0.0.1"},
    }


def run(container: dict[str, Any], tmp_path: Path, volumes: list | None = None):
    pod = make_pod({"name": "main", **container}, volumes)
    dirs = volume_dirs(pod, tmp_path / "pod", tmp_path / "data", lookup)
    return launch(pod, pod["spec"]["containers"][0], tmp_path / "pod", dirs, IMAGES, {}, lookup)


def test_image_entrypoint_is_mapped_and_args_follow_it(tmp_path: Path) -> None:
    result = run({"image": "ghcr.io/kubenas/trainer:0.1", "args": ["--seed", "1"]}, tmp_path)
    assert result.argv == [sys.executable, "-m", "kubenas_trainer", "--seed", "1"]
    overridden = run({"image": "ghcr.io/kubenas/trainer:0.1", "command": ["true"]}, tmp_path)
    assert overridden.argv == ["true"]


def test_unmapped_image_without_command_cannot_start(tmp_path: Path) -> None:
    result = run({"image": "busybox"}, tmp_path)
    assert "has no command and image 'busybox'" in result.error


def test_downward_api_config_and_expansion(tmp_path: Path) -> None:
    field = lambda path: {"fieldRef": {"fieldPath": path}}  # noqa: E731
    result = run({"command": ["serve", "--bind=$(MY_IP)"], "env": [
        {"name": "MY_IP", "valueFrom": field("status.podIP")},
        {"name": "NAME", "valueFrom": field("metadata.name")},
        {"name": "APP", "valueFrom": field("metadata.labels['app']")},
        {"name": "NODE", "valueFrom": field("spec.nodeName")},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "token", "key": "value"}}},
    ]}, tmp_path)
    assert result.argv == ["serve", "--bind=127.0.0.7"]
    env = result.env
    assert (env["MY_IP"], env["POD_IP"], env["NAME"], env["HOSTNAME"]) == (
        "127.0.0.7", "127.0.0.7", "p", "p")
    assert (env["APP"], env["NODE"], env["MODE"], env["TOKEN"]) == ("x", "cpu-0", "fast", "s3cret")


def test_mount_and_termination_paths_are_rewritten(tmp_path: Path) -> None:
    result = run({
        "command": ["train", "--out=/ckpt/run-1", "/ckpt"],
        "workingDir": "/ckpt",
        "volumeMounts": [{"name": "ckpt", "mountPath": "/ckpt"}],
        "env": [{"name": "KUBENAS_TERMINATION_LOG", "value": "/dev/termination-log"},
                {"name": "OTHER", "value": "/ckptx"}],
    }, tmp_path, volumes=[{"name": "ckpt", "persistentVolumeClaim": {"claimName": "c"}}])
    local = tmp_path / "data" / "pvc" / "ns" / "c"
    assert result.argv == ["train", f"--out={local}/run-1", str(local)]
    assert result.cwd == local
    assert result.env["KUBENAS_TERMINATION_LOG"] == str(result.message_file)
    assert result.env["KUBESIM_TERMINATION_MESSAGE_PATH"] == str(result.message_file)
    assert result.env["OTHER"] == "/ckptx"


def test_config_map_volume_is_written_out(tmp_path: Path) -> None:
    result = run({
        "command": ["cat", "/etc/app/mode"],
        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}],
    }, tmp_path, volumes=[{"name": "cfg", "configMap": {"name": "settings"}}])
    assert Path(result.argv[1]).read_text() == "fast"


def test_unsupported_volume_is_a_start_error(tmp_path: Path) -> None:
    pod = make_pod({"name": "main", "command": ["true"]}, [{"name": "v", "nfs": {}}])
    with pytest.raises(SpecError, match="only emptyDir"):
        volume_dirs(pod, tmp_path, tmp_path, lookup)
