"""The trial-pod policy the platform owns: what a NASExperiment may put into its trial pods.

Anyone who may create a NASExperiment gets pods made from its trial template, so the
template must not be a way around what the platform allows: the operator (configured by
the Helm chart's `trialPodPolicy`) refuses an experiment that asks for a volume type, a
secret, a service-account token or a privileged container the policy does not allow,
naming the field. Nothing is refused silently and nothing is rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubenas.api.types import Experiment
from kubenas.api.validate import FieldError

Obj = dict[str, Any]
SAFE_VOLUMES = frozenset({"emptyDir", "persistentVolumeClaim", "configMap", "secret",
                          "projected", "downwardAPI", "ephemeral", "csi"})
HOST_FIELDS = ("hostNetwork", "hostPID", "hostIPC")


@dataclass(frozen=True)
class TrialPodPolicy:
    volume_types: frozenset[str] = SAFE_VOLUMES
    service_account_token: bool = False
    secrets: frozenset[str] = field(default_factory=frozenset)  # "*" allows any
    privileged: bool = False

    def violations(self, exp: Experiment) -> list[FieldError]:
        tpl = exp.trial_template
        base = "spec.trialTemplate"
        spec = _dict(tpl.get("podSpec"))
        out: list[FieldError] = []
        for path, volume in [*_items(f"{base}.volumes", tpl.get("volumes")),
                             *_items(f"{base}.podSpec.volumes", spec.get("volumes"))]:
            out += self._volume(path, volume)
        for path, name in _secret_references(base, tpl, spec):
            if "*" not in self.secrets and name not in self.secrets:
                allowed = ", ".join(sorted(self.secrets)) or "none"
                out.append(FieldError(path, f"references secret {name!r}, which the trial-pod "
                                            f"policy does not allow (allowed: {allowed})"))
        if spec.get("automountServiceAccountToken") and not self.service_account_token:
            out.append(FieldError(f"{base}.podSpec.automountServiceAccountToken",
                                  "service-account tokens are not mounted into trial pods "
                                  "under the trial-pod policy"))
        if not self.privileged:
            out += _privileges(f"{base}.podSpec", spec)
        return out

    def _volume(self, path: str, volume: Any) -> list[FieldError]:
        kinds = [k for k in _dict(volume) if k != "name"]
        out = [FieldError(f"{path}.{k}", f"{k} volumes are not allowed by the trial-pod policy "
                                         f"(allowed: {', '.join(sorted(self.volume_types))})")
               for k in kinds if k not in self.volume_types]
        sources = _dict(_dict(volume).get("projected")).get("sources")
        for source_path, source in _items(f"{path}.projected.sources", sources):
            if "serviceAccountToken" in _dict(source) and not self.service_account_token:
                out.append(FieldError(f"{source_path}.serviceAccountToken",
                                      "service-account tokens are not mounted into trial pods "
                                      "under the trial-pod policy"))
        return out


def _dict(value: Any) -> Obj:
    """The value if it is an object; templates are free-form until a pod is made of them."""
    return value if isinstance(value, dict) else {}


def _name(value: Any) -> str | None:
    name = _dict(value).get("name")
    return name if isinstance(name, str) and name else None


def _items(path: str, values: Any) -> Iterator[tuple[str, Any]]:
    for i, value in enumerate(values or []) if isinstance(values, list) else ():
        yield f"{path}[{i}]", value


def _containers(spec: Obj, base: str) -> Iterator[tuple[str, Obj]]:
    for kind in ("containers", "initContainers"):
        for path, c in _items(f"{base}.{kind}", spec.get(kind)):
            if isinstance(c, dict):
                yield path, c


def _secret_references(base: str, tpl: Obj, spec: Obj) -> Iterator[tuple[str, str]]:
    holders = [(base, tpl), *_containers(spec, f"{base}.podSpec")]
    for path, holder in holders:
        for env_path, env in _items(f"{path}.env", holder.get("env")):
            name = _name(_dict(_dict(env).get("valueFrom")).get("secretKeyRef"))
            if name:
                yield f"{env_path}.valueFrom.secretKeyRef.name", name
        for src_path, src in _items(f"{path}.envFrom", holder.get("envFrom")):
            name = _name(_dict(src).get("secretRef"))
            if name:
                yield f"{src_path}.secretRef.name", name
    for path, volume in [*_items(f"{base}.volumes", tpl.get("volumes")),
                         *_items(f"{base}.podSpec.volumes", spec.get("volumes"))]:
        secret = _dict(_dict(volume).get("secret")).get("secretName")
        if isinstance(secret, str) and secret:
            yield f"{path}.secret.secretName", secret
        for source_path, source in _items(f"{path}.projected.sources",
                                _dict(_dict(volume).get("projected")).get("sources")):
            name = _name(_dict(source).get("secret"))
            if name:
                yield f"{source_path}.secret.name", name
    for path, ref in [*_items(f"{base}.imagePullSecrets", tpl.get("imagePullSecrets")),
                      *_items(f"{base}.podSpec.imagePullSecrets", spec.get("imagePullSecrets"))]:
        name = _name(ref)
        if name:
            yield f"{path}.name", name


def _privileges(base: str, spec: Obj) -> list[FieldError]:
    out = [FieldError(f"{base}.{k}", f"{k} is not allowed by the trial-pod policy")
           for k in HOST_FIELDS if spec.get(k)]
    for path, c in _containers(spec, base):
        ctx = _dict(c.get("securityContext"))
        if ctx.get("privileged"):
            out.append(FieldError(f"{path}.securityContext.privileged",
                                  "privileged containers are not allowed by the trial-pod "
                                  "policy"))
        if ctx.get("allowPrivilegeEscalation"):
            out.append(FieldError(f"{path}.securityContext.allowPrivilegeEscalation",
                                  "privilege escalation is not allowed by the trial-pod policy"))
        if _dict(ctx.get("capabilities")).get("add"):
            out.append(FieldError(f"{path}.securityContext.capabilities.add",
                                  "added capabilities are not allowed by the trial-pod policy"))
    return out
