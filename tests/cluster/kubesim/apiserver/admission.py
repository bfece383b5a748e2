"""Validating admission, after object validation and in kube-apiserver's plugin order:
PodSecurity, then validating webhooks (here only the test fault `Faults.deny_next`), then
ResourceQuota. Each refusal is the plugin's own Status (403 Forbidden for PodSecurity and
quota; whatever code the webhook answered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import podsecurity, quota
from .errors import ApiError
from .options import Ctx
from .resources import ResourceType
from .store import Store

Obj = dict[str, Any]
# (operation, resource type, object, namespace) -> the webhook's refusal, or None.
WebhookFn = Callable[[str, ResourceType, Obj, str], ApiError | None]

NS_KEY = ("", "namespaces")
QUOTA_KEY = ("", "resourcequotas")


class Admission:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.webhook: WebhookFn | None = None

    def validate(self, operation: str, rt: ResourceType, obj: Obj, old: Obj | None,
                 sub: str | None, ctx: Ctx) -> None:
        ns = obj["metadata"].get("namespace", "") if rt.namespaced else ""
        if ns:
            self._pod_security(operation, rt, obj, old, sub, ctx, ns)
        if self.webhook is not None:
            denial = self.webhook(operation, rt, obj, ns)
            if denial is not None:
                raise denial
        if operation == "CREATE" and ns and sub is None:
            quota.admit_create(rt, obj, self.store.objects_of(QUOTA_KEY, ns))

    def _pod_security(self, operation: str, rt: ResourceType, obj: Obj, old: Obj | None,
                      sub: str | None, ctx: Ctx, ns: str) -> None:
        is_pod = rt.store_key == ("", "pods")
        if sub in ("status", "eviction", "binding", "log", "exec", "attach", "portforward",
                   "proxy"):
            return
        if not is_pod and (rt.group, rt.kind) not in podsecurity.CONTROLLER_KINDS:
            return
        namespace = self.store.get(NS_KEY, "", ns)
        labels = (namespace or {}).get("metadata", {}).get("labels") or {}
        if is_pod:
            if operation == "UPDATE" and old is not None and not \
                    podsecurity.significant_update(obj, old):
                return
            level, version = podsecurity.policy(labels, "enforce")
            found = podsecurity.violations(level, obj["metadata"], obj.get("spec") or {})
            if found is not None:
                name = obj["metadata"].get("name", "")
                raise ApiError(403, f'pods "{name}" is forbidden: violates PodSecurity '
                                    f'"{level}:{version}": {found}',
                               details={"name": name, "group": "", "kind": "pods"})
            template: tuple[Obj, Obj] | None = (obj["metadata"], obj.get("spec") or {})
        else:
            template = podsecurity.pod_template(obj, rt.kind)
            if template is None:
                return
        level, version = podsecurity.policy(labels, "warn")
        found = podsecurity.violations(level, *template)
        if found is not None:
            ctx.warnings.append(f'would violate PodSecurity "{level}:{version}": {found}')
