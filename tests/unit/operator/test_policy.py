"""The trial-pod policy refuses what the platform does not allow, naming each field."""

from __future__ import annotations

from typing import Any

from kubenas.api.parse import parse
from kubenas.backends.kubernetes.policy import TrialPodPolicy

from .conftest import manifest


def _paths(template: dict[str, Any], policy: TrialPodPolicy | None = None) -> list[str]:
    errors = (policy or TrialPodPolicy()).violations(parse(manifest(template=template)))
    return [e.path for e in errors]


def test_a_safe_template_passes() -> None:
    assert _paths({"volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "c"}}],
                   "podSpec": {"containers": [{"name": "trainer"}]}}) == []


def test_each_escape_is_named_by_its_field() -> None:
    template = {
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "db", "key": "k"}}}],
        "imagePullSecrets": [{"name": "regcred"}],
        "podSpec": {
            "hostNetwork": True, "automountServiceAccountToken": True,
            "containers": [{"name": "trainer", "securityContext": {
                "privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}}],
            "volumes": [{"name": "t", "projected": {"sources": [
                {"serviceAccountToken": {"path": "t"}}, {"secret": {"name": "s"}}]}}]}}
    assert sorted(_paths(template)) == sorted([
        "spec.trialTemplate.volumes[0].hostPath",
        "spec.trialTemplate.env[0].valueFrom.secretKeyRef.name",
        "spec.trialTemplate.imagePullSecrets[0].name",
        "spec.trialTemplate.podSpec.hostNetwork",
        "spec.trialTemplate.podSpec.automountServiceAccountToken",
        "spec.trialTemplate.podSpec.containers[0].securityContext.privileged",
        "spec.trialTemplate.podSpec.containers[0].securityContext.capabilities.add",
        "spec.trialTemplate.podSpec.volumes[0].projected.sources[0].serviceAccountToken",
        "spec.trialTemplate.podSpec.volumes[0].projected.sources[1].secret.name",
    ])


def test_what_the_platform_allows_passes() -> None:
    policy = TrialPodPolicy(volume_types=frozenset({"hostPath"}), secrets=frozenset({"db"}),
                            service_account_token=True, privileged=True)
    template = {"volumes": [{"name": "h", "hostPath": {"path": "/data"}}],
                "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "db"}}}],
                "podSpec": {"automountServiceAccountToken": True, "hostPID": True}}
    assert _paths(template, policy) == []
    assert _paths({"envFrom": [{"secretRef": {"name": "other"}}]}, policy) == [
        "spec.trialTemplate.envFrom[0].secretRef.name"]
