"""Pod Security admission: the baseline and restricted checks of k8s.io/pod-security-admission.

A namespace's `pod-security.kubernetes.io/enforce` label (`privileged`, `baseline`,
`restricted`; an unknown value enforces restricted, failing closed) decides which pods it
admits; `enforce-version` only changes the printed level (`restricted:v1.30`), the checks
are always those of v1.35, the emulated version. Refusals are 403 with the plugin's text:
`pods "p" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation
!= false (container "main" must set securityContext.allowPrivilegeEscalation=false), ...`.
The `warn` level (which defaults to the enforce level) adds `Warning` headers for pods it
admits and for pod controllers (Deployments, Jobs, ...), whose templates are not enforced.
Pods are checked on create and on updates that change an image or the number of
containers; the status and eviction subresources are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Check = Callable[[Obj, Obj], "tuple[str, str] | None"]  # (metadata, spec) -> (reason, detail)

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE = "pod-security.kubernetes.io/enforce"
WARN = "pod-security.kubernetes.io/warn"


def _quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


def _containers(spec: Obj) -> list[Obj]:
    """`visitContainers`: init containers, containers, then ephemeral containers."""
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
            *(spec.get("ephemeralContainers") or [])]


def _sc(container: Obj) -> Obj:
    return container.get("securityContext") or {}


def _pod_sc(spec: Obj) -> Obj:
    return spec.get("securityContext") or {}


def _windows(spec: Obj) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


def _user_namespace(spec: Obj) -> bool:
    return spec.get("hostUsers") is False


def _named(kind: str, names: list[str]) -> str:
    return f"{_plural(kind, kind + 's', len(names))} {_quote(names)}"


# ---- baseline ----------------------------------------------------------------------------
def app_armor(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    allowed = ("RuntimeDefault", "Localhost")
    setters, values = [], set()
    profile = _pod_sc(spec).get("appArmorProfile")
    if profile is not None and profile.get("type") not in allowed:
        setters.append("pod")
        values.add(profile.get("type", ""))
    bad = []
    for c in _containers(spec):
        profile = _sc(c).get("appArmorProfile")
        if profile is not None and profile.get("type") not in allowed:
            bad.append(c["name"])
            values.add(profile.get("type", ""))
    if bad:
        setters.append(_named("container", bad))
    forbidden = sorted(
        f'{k}="{v}"' for k, v in (meta.get("annotations") or {}).items()
        if k.startswith("container.apparmor.security.beta.kubernetes.io/")
        and not (not v or v == "runtime/default" or v.startswith("localhost/")))
    value_list = sorted(values) + forbidden
    if forbidden:
        setters.append(_plural("annotation", "annotations", len(forbidden)))
    if setters:
        return (_plural("forbidden AppArmor profile", "forbidden AppArmor profiles",
                        len(value_list)),
                f"{' and '.join(setters)} must not set AppArmor profile type to "
                f"{_quote(value_list)}")
    return None


_DEFAULT_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
                         "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
                         "SYS_CHROOT"}


def capabilities_baseline(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad, extra = [], set()
    for c in _containers(spec):
        added = [a for a in (_sc(c).get("capabilities") or {}).get("add") or []
                 if a not in _DEFAULT_CAPABILITIES]
        if added:
            bad.append(c["name"])
            extra.update(added)
    if bad:
        return ("non-default capabilities", f"{_named('container', bad)} must not include "
                                            f"{_quote(sorted(extra))} in "
                                            "securityContext.capabilities.add")
    return None


def host_namespaces(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(used)) if used else None


def host_path_volumes(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    names = [v["name"] for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    return ("hostPath volumes", _named("volume", names)) if names else None


def host_ports(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad, ports = [], set()
    for c in _containers(spec):
        used = [p["hostPort"] for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c["name"])
            ports.update(str(p) for p in used)
    if bad:
        return ("hostPort", f"{_named('container', bad)} {_plural('uses', 'use', len(bad))} "
                            f"{_plural('hostPort', 'hostPorts', len(ports))} "
                            f"{', '.join(sorted(ports))}")
    return None


def _hosts(handler: Obj | None) -> list[str]:
    if not handler:
        return []
    return [h["host"] for key in ("httpGet", "tcpSocket")
            if (h := handler.get(key)) and h.get("host")]


def host_probes(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad: set[str] = set()
    hosts: set[str] = set()
    for c in _containers(spec):
        lifecycle = c.get("lifecycle") or {}
        for handler in (c.get("livenessProbe"), c.get("readinessProbe"), c.get("startupProbe"),
                        lifecycle.get("postStart"), lifecycle.get("preStop")):
            found = _hosts(handler)
            if found:
                bad.add(c["name"])
                hosts.update(found)
    if bad:
        return ("probe or lifecycle host",
                f"{_named('container', sorted(bad))} {_plural('uses', 'use', len(bad))} "
                f"{_plural('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
                f"{_quote(sorted(hosts))}")
    return None


def privileged(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("privileged") is True]
    if bad:
        return ("privileged",
                f"{_named('container', bad)} must not set securityContext.privileged=true")
    return None


def _proc_mount(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad, kinds = [], set()
    for c in _containers(spec):
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(c["name"])
            kinds.add(mount)
    if bad:
        return ("procMount", f"{_named('container', bad)} must not set "
                             f"securityContext.procMount to {_quote(sorted(kinds))}")
    return None


def proc_mount_baseline(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    return None if _user_namespace(spec) else _proc_mount(meta, spec)


_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t",
                  "container_engine_t"}


def selinux(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    setters: list[str] = []
    types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(opts: Obj) -> bool:
        ok = True
        if opts.get("type", "") not in _SELINUX_TYPES:
            ok = False
            types.add(opts.get("type", ""))
        for key in ("user", "role"):
            if opts.get(key):
                ok, flags[key] = False, True
        return ok

    options = _pod_sc(spec).get("seLinuxOptions")
    if options is not None and not valid(options):
        setters.append("pod")
    bad = [c["name"] for c in _containers(spec)
           if (o := _sc(c).get("seLinuxOptions")) is not None and not valid(o)]
    if bad:
        setters.append(_named("container", bad))
    if not setters:
        return None
    data = []
    if types:
        data.append(f"{_plural('type', 'types', len(types))} {_quote(sorted(types))}")
    if flags["user"]:
        data.append("user may not be set")
    if flags["role"]:
        data.append("role may not be set")
    return ("seLinuxOptions", f"{' and '.join(setters)} set forbidden "
                              f"securityContext.seLinuxOptions: {'; '.join(data)}")


def _valid_seccomp(profile: Obj) -> bool:
    return profile.get("type") in ("RuntimeDefault", "Localhost")


def seccomp_baseline(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    setters, values = [], set()
    profile = _pod_sc(spec).get("seccompProfile")
    if profile is not None and not _valid_seccomp(profile):
        setters.append("pod")
        values.add(profile.get("type", ""))
    bad = []
    for c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if profile is not None and not _valid_seccomp(profile):
            bad.append(c["name"])
            values.add(profile.get("type", ""))
    if bad:
        setters.append(_named("container", bad))
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set "
                                  f"securityContext.seccompProfile.type to "
                                  f"{_quote(sorted(values))}")
    return None


_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
            "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
            "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def sysctls(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad = [s.get("name", "") for s in _pod_sc(spec).get("sysctls") or []
           if s.get("name") not in _SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def windows_host_process(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    def host(sc: Obj) -> bool:
        return (sc.get("windowsOptions") or {}).get("hostProcess") is True

    setters = ["pod"] if host(_pod_sc(spec)) else []
    bad = [c["name"] for c in _containers(spec) if host(_sc(c))]
    if bad:
        setters.append(_named("container", bad))
    if setters:
        return ("hostProcess", f"{' and '.join(setters)} must not set "
                               "securityContext.windowsOptions.hostProcess=true")
    return None


# ---- restricted --------------------------------------------------------------------------
def allow_privilege_escalation(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    bad = [c["name"] for c in _containers(spec)
           if _sc(c).get("allowPrivilegeEscalation") is not False]
    if bad:
        return ("allowPrivilegeEscalation != false",
                f"{_named('container', bad)} must set "
                "securityContext.allowPrivilegeEscalation=false")
    return None


def capabilities_restricted(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    missing_drop, adding, forbidden = [], [], set()
    for c in _containers(spec):
        caps = _sc(c).get("capabilities")
        if caps is None:
            missing_drop.append(c["name"])
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing_drop.append(c["name"])
        added = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
        if added:
            adding.append(c["name"])
            forbidden.update(added)
    details = []
    if missing_drop:
        details.append(f'{_named("container", missing_drop)} must set '
                       'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_named('container', adding)} must not include "
                       f"{_quote(sorted(forbidden))} in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def proc_mount_restricted(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    return _proc_mount(meta, spec)


_RESTRICTED_OK = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                  "persistentVolumeClaim", "projected", "secret")
_VOLUME_TYPES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs",
                 "iscsi", "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc",
                 "azureFile", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
                 "portworxVolume", "scaleIO", "storageos")


def restricted_volumes(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    bad, types = [], set()
    for volume in spec.get("volumes") or []:
        if any(volume.get(k) is not None for k in _RESTRICTED_OK):
            continue
        bad.append(volume["name"])
        types.add(next((k for k in _VOLUME_TYPES if volume.get(k) is not None), "unknown"))
    if bad:
        return ("restricted volume types",
                f"{_named('volume', bad)} {_plural('uses', 'use', len(bad))} "
                f"{_plural('restricted volume type', 'restricted volume types', len(types))} "
                f"{_quote(sorted(types))}")
    return None


def run_as_non_root(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    if _user_namespace(spec):
        return None
    setters = []
    pod_value = _pod_sc(spec).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit, implicit = [], []
    for c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(c["name"])
        elif pod_value is not True:
            implicit.append(c["name"])
    if explicit:
        setters.append(_named("container", explicit))
    if setters:
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set "
                                        "securityContext.runAsNonRoot=false")
    if implicit:
        return ("runAsNonRoot != true", f"pod or {_named('container', implicit)} must set "
                                        "securityContext.runAsNonRoot=true")
    return None


def run_as_user(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    if _user_namespace(spec):
        return None
    setters = ["pod"] if _pod_sc(spec).get("runAsUser") == 0 else []
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        setters.append(_named("container", bad))
    if setters:
        return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return None


def seccomp_restricted(meta: Obj, spec: Obj) -> tuple[str, str] | None:
    if _windows(spec):
        return None
    setters, values = [], set()
    pod_set = False
    profile = _pod_sc(spec).get("seccompProfile")
    if profile is not None:
        if not _valid_seccomp(profile):
            setters.append("pod")
            values.add(profile.get("type", ""))
        else:
            pod_set = True
    explicit, implicit = [], []
    for c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if profile is not None:
            if not _valid_seccomp(profile):
                explicit.append(c["name"])
                values.add(profile.get("type", ""))
        elif not pod_set:
            implicit.append(c["name"])
    if explicit:
        setters.append(_named("container", explicit))
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set "
                                  f"securityContext.seccompProfile.type to "
                                  f"{_quote(sorted(values))}")
    if implicit:
        return ("seccompProfile", f"pod or {_named('container', implicit)} must set "
                                  'securityContext.seccompProfile.type to "RuntimeDefault" or '
                                  '"Localhost"')
    return None


BASELINE: dict[str, Check] = {
    "appArmorProfile": app_armor, "capabilities_baseline": capabilities_baseline,
    "hostNamespaces": host_namespaces, "hostPathVolumes": host_path_volumes,
    "hostPorts": host_ports, "hostProbesAndHostLifecycle": host_probes,
    "privileged": privileged, "procMount": proc_mount_baseline, "seLinuxOptions": selinux,
    "seccompProfile_baseline": seccomp_baseline, "sysctls": sysctls,
    "windowsHostProcess": windows_host_process,
}
RESTRICTED: dict[str, Check] = {
    "allowPrivilegeEscalation": allow_privilege_escalation,
    "capabilities_restricted": capabilities_restricted,
    "procMount_restricted": proc_mount_restricted, "restrictedVolumes": restricted_volumes,
    "runAsNonRoot": run_as_non_root, "runAsUser": run_as_user,
    "seccompProfile_restricted": seccomp_restricted,
}
OVERRIDES = {"capabilities_baseline", "hostPathVolumes", "seccompProfile_baseline", "procMount"}


def checks(level: str) -> list[Check]:
    """Baseline IDs sorted, then restricted IDs sorted, as the check registry orders them."""
    if level == "baseline":
        return [BASELINE[i] for i in sorted(BASELINE)]
    if level == "restricted":
        return [BASELINE[i] for i in sorted(BASELINE) if i not in OVERRIDES] + [
            RESTRICTED[i] for i in sorted(RESTRICTED)]
    return []


def violations(level: str, meta: Obj, spec: Obj) -> str | None:
    """`AggregateCheckResult.ForbiddenDetail()`, or None when the pod is allowed."""
    results = [r for check in checks(level) if (r := check(meta, spec)) is not None]
    if not results:
        return None
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in results)


def policy(labels: dict[str, str], mode: str) -> tuple[str, str]:
    """(level, version) of a mode from the namespace labels, as `PolicyToEvaluate` reads them."""
    level = labels.get(f"pod-security.kubernetes.io/{mode}")
    version = labels.get(f"pod-security.kubernetes.io/{mode}-version", "latest")
    if mode == "warn" and level is None:
        enforce = labels.get(ENFORCE)
        if enforce in LEVELS and LEVELS.index(enforce) > 0:
            level = enforce
            version = labels.get(f"{ENFORCE}-version", "latest") if \
                f"{WARN}-version" not in labels else version
    if version != "latest" and not re.fullmatch(r"v1\.(0|[1-9][0-9]*)", version):
        version = "latest"  # ParseVersion falls back to latest on a bad value
    if level is None:
        return "privileged", version
    if level not in LEVELS:
        level = "restricted" if mode == "enforce" else "privileged"
    return level, version


def pod_template(obj: Obj, kind: str) -> tuple[Obj, Obj] | None:
    """(metadata, spec) of the pod a controller object would make, or None."""
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


CONTROLLER_KINDS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                    ("apps", "DaemonSet"), ("batch", "Job"), ("batch", "CronJob"),
                    ("", "ReplicationController"), ("", "PodTemplate")}


def significant_update(new: Obj, old: Obj) -> bool:
    """`isSignificantPodUpdate`: only images and the container counts matter."""
    a, b = new.get("spec") or {}, old.get("spec") or {}
    for key in ("containers", "initContainers"):
        if len(a.get(key) or []) != len(b.get(key) or []):
            return True
        if any(x.get("image") != y.get("image") for x, y in zip(a.get(key) or [],
                                                                 b.get(key) or [],
                                                                 strict=False)):
            return True
    old_ephemeral = {c.get("name"): c for c in b.get("ephemeralContainers") or []}
    for c in a.get("ephemeralContainers") or []:
        previous = old_ephemeral.get(c.get("name"))
        if previous is None or previous.get("image") != c.get("image"):
            return True
    return False
