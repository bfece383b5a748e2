"""Turns a pod's containers into local processes: command, environment and paths.

There are no images and no mount namespaces, so the kubelet maps them onto this machine:
- an image's entrypoint comes from `image_commands` (glob pattern -> argv); `command`
  replaces it and `args` follow it, as in Kubernetes;
- each volume is a local directory, and every mount path that appears in `command`, `args`,
  `env` values or `workingDir` is rewritten to that directory; so is the container's
  `terminationMessagePath` (default `/dev/termination-log`), which points to a per-container
  file whose path is also exported as `KUBESIM_TERMINATION_MESSAGE_PATH` and, unless the pod
  sets it, `KUBENAS_TERMINATION_LOG` (the trainer contract's name for it);
- processes inherit the kubelet's environment (the virtualenv, `PYTHONPATH`), then get
  `HOSTNAME` (the pod name) and `POD_IP` (the pod's own loopback address, which servers must
  bind instead of 0.0.0.0 since all pods share one network namespace), then the pod's env.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from collections.abc import Callable
from pathlib import Path

from .client import Obj
from .runtime import Launch

ImageCommands = dict[str, list[str]]
# (kind, namespace, name) -> the object or None; for configMaps and secrets.
Lookup = Callable[[str, str, str], Obj | None]

DEFAULT_MESSAGE_PATH = "/dev/termination-log"


class SpecError(Exception):
    """The pod asks for something this emulator cannot give; the container fails to start."""


def entrypoint(image: str, image_commands: ImageCommands) -> list[str] | None:
    for pattern, argv in image_commands.items():
        if fnmatch.fnmatchcase(image, pattern):
            return list(argv)
    return None


def _field(pod: Obj, path: str) -> str:
    meta, status = pod["metadata"], pod.get("status") or {}
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        return (meta.get(match[1]) or {}).get(match[2], "")
    values = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta.get("namespace", "default"),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", "default"),
        "status.podIP": status.get("podIP", ""),
        "status.podIPs": ",".join(ip["ip"] for ip in status.get("podIPs") or []),
        "status.hostIP": status.get("hostIP", ""),
        "status.hostIPs": ",".join(ip["ip"] for ip in status.get("hostIPs") or []),
    }
    if path not in values:
        raise SpecError(f"fieldRef {path!r} is not supported")
    return values[path]


def _key_ref(kind: str, ref: Obj, namespace: str, lookup: Lookup) -> str | None:
    obj = lookup(kind, namespace, ref["name"])
    data = (obj or {}).get("data") or {}
    if ref["key"] in data:
        value = data[ref["key"]]
        return base64.b64decode(value).decode() if kind == "secrets" else value
    if ref.get("optional"):
        return None
    raise SpecError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")


def _from_sources(container: Obj, namespace: str, lookup: Lookup) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        kind, ref = (
            ("configmaps", source["configMapRef"])
            if "configMapRef" in source
            else ("secrets", source["secretRef"])
        )
        obj = lookup(kind, namespace, ref["name"])
        if obj is None and not ref.get("optional"):
            raise SpecError(f"{kind} {ref['name']!r} not found")
        for key, value in ((obj or {}).get("data") or {}).items():
            decoded = base64.b64decode(value).decode() if kind == "secrets" else value
            env[source.get("prefix", "") + key] = decoded
    return env


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` references; `$$(VAR)` escapes one."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m[0] == "$$" else env.get(m[1], m[0]),
        value,
    )


def container_env(pod: Obj, container: Obj, lookup: Lookup) -> dict[str, str]:
    namespace = pod["metadata"].get("namespace", "default")
    env = _from_sources(container, namespace, lookup)
    for var in container.get("env") or []:
        source = var.get("valueFrom")
        if source is None:
            env[var["name"]] = _expand(var.get("value", ""), env)
        elif "fieldRef" in source:
            env[var["name"]] = _field(pod, source["fieldRef"]["fieldPath"])
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            kind = "configmaps" if "configMapKeyRef" in source else "secrets"
            value = _key_ref(kind, source.get("configMapKeyRef") or source["secretKeyRef"],
                             namespace, lookup)
            if value is not None:
                env[var["name"]] = value
        else:
            raise SpecError(f"env {var['name']}: {sorted(source)} is not supported")
    return env


def volume_dirs(pod: Obj, pod_dir: Path, data_dir: Path, lookup: Lookup) -> dict[str, Path]:
    """Each volume as a local directory; configMaps and secrets are written out as files."""
    namespace = pod["metadata"].get("namespace", "default")
    dirs: dict[str, Path] = {}
    for volume in pod["spec"].get("volumes") or []:
        name = volume["name"]
        if "emptyDir" in volume:
            dirs[name] = pod_dir / "volumes" / name
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            dirs[name] = data_dir / "pvc" / namespace / claim
        elif "hostPath" in volume:
            dirs[name] = Path(volume["hostPath"]["path"])
        elif "configMap" in volume or "secret" in volume:
            kind = "configmaps" if "configMap" in volume else "secrets"
            ref = volume.get("configMap") or volume["secret"]
            obj = lookup(kind, namespace, ref.get("name") or ref.get("secretName", ""))
            if obj is None and not ref.get("optional"):
                raise SpecError(f"volume {name}: {kind} not found")
            dirs[name] = pod_dir / "volumes" / name
            dirs[name].mkdir(parents=True, exist_ok=True)
            for key, value in ((obj or {}).get("data") or {}).items():
                data = base64.b64decode(value) if kind == "secrets" else value.encode()
                (dirs[name] / key).write_bytes(data)
        else:
            raise SpecError(f"volume {name}: only emptyDir, persistentVolumeClaim, hostPath, "
                            "configMap and secret are supported")
        dirs[name].mkdir(parents=True, exist_ok=True)
    return dirs


class PathMap:
    """Rewrites container paths (mount points, the termination log) to local ones."""

    def __init__(self, mapping: dict[str, Path]) -> None:
        self._mapping = {k.rstrip("/") or "/": str(v) for k, v in mapping.items()}
        if not self._mapping:
            self._pattern = None
            return
        alternatives = "|".join(re.escape(p) for p in sorted(self._mapping, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w./-])({alternatives})(?![\w.-])")

    def __call__(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self._mapping[m[1]], value)


def launches(
    pod: Obj,
    pod_dir: Path,
    data_dir: Path,
    image_commands: ImageCommands,
    base_env: dict[str, str],
    lookup: Lookup,
) -> list[Launch]:
    """One launch per container; what cannot start carries its error instead of a command."""
    containers = pod["spec"]["containers"]
    try:
        if pod["spec"].get("initContainers"):
            raise SpecError("initContainers are not supported")
        volumes = volume_dirs(pod, pod_dir, data_dir, lookup)
    except SpecError as err:
        return [_blank(c["name"], pod_dir, f"kubesim: {err}") for c in containers]
    return [launch(pod, c, pod_dir, volumes, image_commands, base_env, lookup) for c in containers]


def _blank(name: str, pod_dir: Path, error: str = "") -> Launch:
    return Launch(
        name=name,
        argv=[],
        env={},
        cwd=pod_dir / "work",
        log=pod_dir / f"{name}.log",
        message_file=pod_dir / "termination" / name,
        error=error,
    )


def launch(
    pod: Obj,
    container: Obj,
    pod_dir: Path,
    volumes: dict[str, Path],
    image_commands: ImageCommands,
    base_env: dict[str, str],
    lookup: Lookup,
) -> Launch:
    name = container["name"]
    result = _blank(name, pod_dir)
    message_file = result.message_file
    result.fallback_to_logs = container.get("terminationMessagePolicy") == "FallbackToLogsOnError"
    try:
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts") or []:
            if mount["name"] not in volumes:
                raise SpecError(f"volumeMount {mount['name']!r} names no volume")
            local = volumes[mount["name"]] / mount.get("subPath", "")
            local.mkdir(parents=True, exist_ok=True)
            mounts[mount["mountPath"]] = local
        mounts[container.get("terminationMessagePath") or DEFAULT_MESSAGE_PATH] = message_file
        rewrite = PathMap(mounts)
        env = container_env(pod, container, lookup)
        command = container.get("command") or entrypoint(container.get("image", ""),
                                                         image_commands)
        if command is None:
            raise SpecError(
                f"container {name!r} has no command and image {container.get('image')!r} has no "
                "entry in the cluster's image_commands"
            )
        args = container.get("args") or []
        result.argv = [rewrite(_expand(a, env)) for a in [*command, *args]]
        result.env = (
            base_env
            | {
                "HOSTNAME": pod["metadata"]["name"],
                "POD_IP": pod["status"]["podIP"],
                "KUBESIM_TERMINATION_MESSAGE_PATH": str(message_file),
                "KUBENAS_TERMINATION_LOG": str(message_file),
            }
            | {k: rewrite(v) for k, v in env.items()}
        )
        if container.get("workingDir"):
            result.cwd = Path(rewrite(container["workingDir"]))
    except SpecError as err:
        result.error = f"kubesim: {err}"
    return result
