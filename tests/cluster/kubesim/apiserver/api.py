"""The object lifecycle behind every verb: admission, validation, writes and deletion.

This layer knows nothing of HTTP. `server.py` turns requests into calls on `ObjectApi` and
its results (or `ApiError`s) into responses. Garbage collection lives in `gc.py` and runs
synchronously inside the write that triggers it, so tests see a settled state.
"""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

from . import disruption, kinds, patches, quota, schema, validation
from .admission import Admission
from .cel import check_rules
from .controllers import StatusControllers
from .errors import ApiError, already_exists, conflict, invalid, not_found
from .gc import Collector
from .options import Ctx, DeleteOptions, now
from .resources import Registry, ResourceType
from .selectors import Predicate
from .store import Obj, Store, TypeKey

CRD_KEY: TypeKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NS_KEY: TypeKey = ("", "namespaces")
LEASE_KEY: TypeKey = ("coordination.k8s.io", "leases")
PDB_KEY: TypeKey = ("policy", "poddisruptionbudgets")
QUOTA_KEY: TypeKey = ("", "resourcequotas")
JOB_KEY: TypeKey = ("batch", "jobs")
MAX_GENERATED_PREFIX = 63 - 5


def _suffix() -> str:
    return "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=5))


def _without_managed_fields(obj: Obj) -> Obj:
    """Applying an unchanged configuration only bumps managedFields times: a no-op write."""
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class ObjectApi:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.gc = Collector(self)
        self.admission = Admission(store)
        self.controllers = StatusControllers(self)

    # ---- helpers -----------------------------------------------------------------------
    def present(self, rt: ResourceType, obj: Obj) -> Obj:
        """Objects are stored version-less; they read back at the version asked for."""
        obj["apiVersion"] = rt.group_version
        obj["kind"] = rt.kind
        return obj

    def _existing(self, rt: ResourceType, ns: str, name: str) -> Obj:
        obj = self.store.get(rt.store_key, ns if rt.namespaced else "", name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def _validate_custom(self, rt: ResourceType, obj: Obj, old: Obj | None, ctx: Ctx) -> Obj:
        if rt.schema is None:
            return obj
        unknown: list[str] = []
        meta: Obj = obj.get("metadata") or {}
        obj = schema.prune(obj, rt.schema, "", unknown, root=True)
        obj["metadata"] = meta
        if unknown:
            if ctx.validation == "Strict":
                fields = ", ".join(f'unknown field "{u}"' for u in unknown)
                raise ApiError(400, f'{rt.kind} in version "{rt.version}" cannot be handled as '
                                    f'a {rt.kind}: strict decoding error: {fields}')
            if ctx.validation == "Warn":
                ctx.warnings.extend(f'unknown field "{u}"' for u in unknown)
        schema.apply_defaults(obj, rt.schema)
        causes: list[schema.Cause] = []
        body = {k: v for k, v in obj.items() if k != "metadata"}
        root = {k: v for k, v in rt.schema.items() if k != "properties"}
        root["properties"] = {k: v for k, v in (rt.schema.get("properties") or {}).items()
                              if k != "metadata"}
        causes += schema.name_causes(meta)
        schema.validate(body, root, "", causes)
        if any(c["reason"] in schema.BLOCKING for c in causes):
            if schema.has_rules(rt.schema):
                causes.append(schema.CEL_SKIPPED)
        else:
            self_obj = {**body, "metadata": {k: meta.get(k) for k in ("name", "generateName")
                                             if meta.get(k)}}
            old_obj = None if old is None else {k: v for k, v in old.items() if k != "metadata"}
            if old_obj is not None:
                old_obj["metadata"] = self_obj["metadata"]
            check_rules(self_obj, old_obj, old is not None, rt.schema, "", causes)
        if causes:
            raise invalid(rt.kind, rt.group, meta.get("name", ""), causes)
        return obj

    def _validate_builtin(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        """Built-in kinds: the name rule of their kind (on create), Lease specs."""
        meta = obj["metadata"]
        for key in ("labels", "annotations", "finalizers", "ownerReferences"):
            if key in meta and not meta[key]:
                del meta[key]  # ObjectMeta's fields are omitempty
        if rt.crd:
            return
        causes = validation.name_causes(rt.group, rt.plural, meta) if old is None else []
        if rt.store_key == JOB_KEY and old is None:
            causes += kinds.job_causes(obj)
        if rt.store_key == LEASE_KEY:
            validation.prepare_lease(obj)
            causes += validation.lease_causes(obj)
        elif rt.store_key == QUOTA_KEY:
            quota.normalise_hard(obj)
        if causes:
            raise invalid(rt.kind, rt.group, meta.get("name", ""), causes)

    def _check_kind(self, rt: ResourceType, obj: Obj) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind not in (None, rt.kind) or api_version not in (None, rt.group_version):
            raise ApiError(400, f"the body ({api_version}, {kind}) does not match the resource "
                                f"({rt.group_version}, {rt.kind})")

    # ---- create ------------------------------------------------------------------------
    def create(self, rt: ResourceType, ns: str, body: Obj, ctx: Ctx) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be an object")
        self._check_kind(rt, body)
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {}) or {}
        obj["metadata"] = meta
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise invalid(rt.kind, rt.group, "", [{
                    "field": "metadata.name", "reason": "FieldValueRequired",
                    "message": "Required value: name or generateName is required"}])
            # names.SimpleNameGenerator: the prefix is cut to leave room for the suffix.
            meta["name"] = meta["generateName"][:MAX_GENERATED_PREFIX] + _suffix()
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise ApiError(400, "the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            meta["namespace"] = ns
            self._check_namespace(ns)
        else:
            meta.pop("namespace", None)
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        self.present(rt, obj)
        kinds.prepare_create(rt, obj)
        self._validate_builtin(rt, obj, None)
        obj = self._validate_custom(rt, obj, None, ctx)
        self.admission.validate("CREATE", rt, obj, None, None, ctx)
        with self.store.lock:
            if self.store.get(rt.store_key, meta.get("namespace", ""), meta["name"]) is not None:
                raise already_exists(rt.plural, rt.group, meta["name"])
            if ctx.dry_run:
                return obj
            created = self.store.commit(rt.store_key, obj, None)
            if rt.store_key == CRD_KEY:
                self.registry.register_crd(created)
        return self.present(rt, created)

    def _check_namespace(self, ns: str) -> None:
        namespace = self.store.get(NS_KEY, "", ns)
        if namespace is None:
            raise not_found("namespaces", "", ns)
        if namespace["metadata"].get("deletionTimestamp"):
            raise ApiError(403, f"unable to create new content in namespace {ns} because it is "
                                "being terminated", reason="Forbidden")

    # ---- read --------------------------------------------------------------------------
    def get(self, rt: ResourceType, ns: str, name: str) -> Obj:
        return self.present(rt, self._existing(rt, ns, name))

    def list_objects(self, rt: ResourceType, ns: str | None,
                     match: Predicate) -> tuple[list[Obj], int]:
        with self.store.lock:
            items = self.store.objects_of(rt.store_key, ns if rt.namespaced else None)
            rv = self.store.rv
        return [self.present(rt, o) for o in items if match(o)], rv

    # ---- update ------------------------------------------------------------------------
    def update(self, rt: ResourceType, ns: str, name: str, body: Obj, sub: str | None,
               ctx: Ctx) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be an object")
        self._check_kind(rt, body)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise ApiError(400, f"the name of the object ({meta['name']}) does not match the "
                                f"name on the URL ({name})")
        if rt.crd and not meta.get("resourceVersion"):
            raise invalid(rt.kind, rt.group, name, [{
                "field": "metadata.resourceVersion", "reason": "FieldValueInvalid",
                "message": "Invalid value: 0x0: must be specified for an update"}])
        with self.store.lock:
            old = self._existing(rt, ns, name)
            return self.write(rt, old, copy.deepcopy(body), sub, ctx)

    def write(self, rt: ResourceType, old: Obj, new: Obj, sub: str | None, ctx: Ctx) -> Obj:
        """Replace `old` with `new` as PUT does, honouring the status subresource split."""
        meta_new = new.get("metadata") or {}
        wanted_rv = meta_new.get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rt.plural, rt.group, old["metadata"]["name"])
        if sub == "status":
            obj = copy.deepcopy(old)
            if "status" in new:
                obj["status"] = new["status"]
            else:
                obj.pop("status", None)
        else:
            obj = new
            meta = dict(meta_new)
            for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                        "deletionGracePeriodSeconds", "generation"):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            if "managedFields" not in meta_new and "managedFields" in old["metadata"]:
                meta["managedFields"] = old["metadata"]["managedFields"]
            obj["metadata"] = meta
            if rt.has_status:
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
            self._check_finalizers(rt, old, obj)
        self.present(rt, obj)
        kinds.prepare_update(rt, old, obj)
        self._validate_builtin(rt, obj, old)
        if sub != "status" or rt.crd:
            obj = self._validate_custom(rt, obj, old, ctx)
        self.admission.validate("UPDATE", rt, obj, old, sub, ctx)
        if _spec_part(obj) != _spec_part(old):
            obj["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if ctx.dry_run:
            return obj
        if _without_managed_fields(obj) == _without_managed_fields(self.present(rt, old)):
            return old
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers") \
                and not self._awaits_kubelet(rt, obj):
            return self.present(rt, self.remove(rt.store_key, obj))
        written = self.store.commit(rt.store_key, obj, old)
        if rt.store_key == CRD_KEY:
            self.registry.register_crd(written)
        return self.present(rt, written)

    def _check_finalizers(self, rt: ResourceType, old: Obj, new: Obj) -> None:
        if not old["metadata"].get("deletionTimestamp"):
            return
        before = set(old["metadata"].get("finalizers") or [])
        added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
        if added:
            raise invalid(rt.kind, rt.group, old["metadata"]["name"], [{
                "field": "metadata.finalizers", "reason": "FieldValueForbidden",
                "message": "Forbidden: no new finalizers can be added if the object is being "
                           f"deleted, found new finalizers {added}"}])

    def _awaits_kubelet(self, rt: ResourceType, obj: Obj) -> bool:
        """A bound pod deleted gracefully stays until its kubelet confirms with grace 0."""
        return (rt.store_key == ("", "pods")
                and bool(obj["metadata"].get("deletionGracePeriodSeconds")))

    # ---- patch -------------------------------------------------------------------------
    def patch(self, rt: ResourceType, ns: str, name: str, patch_type: str, body: Any,
              sub: str | None, ctx: Ctx, force: bool = False) -> Obj:
        with self.store.lock:
            if patch_type == "apply":
                return self._apply(rt, ns, name, body, sub, ctx, force)
            old = self.present(rt, self._existing(rt, ns, name))
            if patch_type == "merge":
                new = patches.merge_patch(old, body)
            elif patch_type == "json":
                new = patches.json_patch(old, body)
            elif patch_type == "strategic":
                if rt.crd:
                    raise ApiError(415, "the body of the request was in an unknown format - "
                                        "accepted media types include: application/json-patch+"
                                        "json, application/merge-patch+json, application/apply-"
                                        "patch+yaml", reason="UnsupportedMediaType")
                new = patches.keyed_merge(old, body, patches.builtin_list_key,
                                          patches.builtin_set_list)
            else:
                raise ApiError(415, f"unsupported patch type {patch_type}",
                               reason="UnsupportedMediaType")
            if not isinstance(new, dict):
                raise ApiError(422, "patched object must be a JSON object")
            return self.write(rt, old, new, sub, ctx)

    def _list_fns(self, rt: ResourceType) -> tuple[patches.ListKeyFn, patches.SetListFn]:
        if not rt.crd or rt.schema is None:
            return patches.builtin_list_key, patches.builtin_set_list
        crd_schema = rt.schema

        def list_key(path: tuple[str, ...], items: list[Any]) -> str | None:
            if path[:1] == ("metadata",):
                return patches.builtin_list_key(path, items)
            sub = schema.at_path(crd_schema, path) or {}
            keys = sub.get("x-kubernetes-list-map-keys") or []
            return keys[0] if sub.get("x-kubernetes-list-type") == "map" and keys else None

        def set_list(path: tuple[str, ...]) -> bool:
            if path[:1] == ("metadata",):
                return patches.builtin_set_list(path)
            sub = schema.at_path(crd_schema, path) or {}
            return sub.get("x-kubernetes-list-type") == "set"

        return list_key, set_list

    def _apply(self, rt: ResourceType, ns: str, name: str, config: Any, sub: str | None,
               ctx: Ctx, force: bool) -> Obj:
        """Server-side apply: merge the configuration, drop fields this manager let go of."""
        if not isinstance(config, dict):
            raise ApiError(400, "the applied configuration must be an object")
        if not ctx.field_manager:
            raise ApiError(400, "PATCH, application/apply-patch+yaml requires fieldManager to "
                                "be specified")
        self._check_kind(rt, config)
        list_key, set_list = self._list_fns(rt)
        applied = patches.field_set(config, list_key, set_list)
        entry = {"manager": ctx.field_manager, "operation": "Apply",
                 "apiVersion": rt.group_version, "time": now(), "fieldsType": "FieldsV1",
                 "fieldsV1": patches.fields_v1(applied)}
        if sub:
            entry["subresource"] = sub
        existing = self.store.get(rt.store_key, ns if rt.namespaced else "", name)
        if existing is None:
            if sub:
                raise not_found(rt.plural, rt.group, name)
            body = copy.deepcopy(config)
            body.setdefault("metadata", {})["name"] = name
            body["metadata"]["managedFields"] = [entry]
            return self.create(rt, ns, body, ctx)
        old = self.present(rt, existing)
        merged = patches.keyed_merge(old, config, list_key, set_list, directives=False)
        managed = old["metadata"].get("managedFields") or []
        mine = [m for m in managed if m.get("manager") == ctx.field_manager
                and m.get("operation") == "Apply" and m.get("subresource") == sub]
        others = self._resolve_conflicts(rt, name, old, config, applied,
                                         [m for m in managed if m not in mine], force)
        previous: set[tuple[str, ...]] = set()
        for m in mine:
            previous |= patches.paths_of(m.get("fieldsV1") or {})
        kept: set[tuple[str, ...]] = set()
        for m in others:
            kept |= patches.paths_of(m.get("fieldsV1") or {})
        for path in sorted(previous - applied - kept, key=len, reverse=True):
            patches.remove_path(merged, path)
        merged["metadata"]["managedFields"] = [*others, entry]
        merged["metadata"].pop("resourceVersion", None)
        if config.get("metadata", {}).get("resourceVersion"):
            merged["metadata"]["resourceVersion"] = config["metadata"]["resourceVersion"]
        return self.write(rt, old, merged, sub, ctx)

    def _resolve_conflicts(self, rt: ResourceType, name: str, old: Obj, config: Obj,
                           applied: set[tuple[str, ...]], others: list[Obj],
                           force: bool) -> list[Obj]:
        """Fields another applier owns and this one would change: 409, or taken with force.

        Only managers that used apply own fields here; plain updates do not.
        """
        conflicts: list[tuple[str, tuple[str, ...]]] = []
        for entry in others:
            if entry.get("operation") != "Apply":
                continue
            owned = patches.paths_of(entry.get("fieldsV1") or {})
            for path in sorted(owned & applied):
                if patches.value_at(old, path) != patches.value_at(config, path):
                    conflicts.append((entry["manager"], path))
        if not conflicts:
            return others
        if not force:
            causes = [{"reason": "FieldManagerConflict", "field": patches.render_path(p),
                       "message": f'conflict with "{m}"'} for m, p in conflicts]
            listed = "\n".join(f'- {c["message"]}: {c["field"]}' for c in causes)
            count = f"{len(causes)} conflict" + ("s" if len(causes) > 1 else "")
            raise ApiError(409, f"Apply failed with {count}:\n{listed}", details={
                "name": name, "group": rt.group, "kind": rt.plural, "causes": causes})
        taken = {p for _, p in conflicts}
        result = []
        for entry in others:
            if entry.get("operation") == "Apply":
                left = patches.paths_of(entry.get("fieldsV1") or {}) - taken
                if not left:
                    continue  # a manager that owns nothing is dropped
                entry = {**entry, "fieldsV1": patches.fields_v1(left)}
            result.append(entry)
        return result

    # ---- delete ------------------------------------------------------------------------
    def delete(self, rt: ResourceType, ns: str, name: str, opts: DeleteOptions,
               ctx: Ctx) -> Obj:
        with self.store.lock:
            obj = self._existing(rt, ns, name)
            if opts.uid and opts.uid != obj["metadata"]["uid"]:
                raise ApiError(409, f"Precondition failed: UID in precondition: {opts.uid}, UID "
                                    f"in object meta: {obj['metadata']['uid']}")
            if opts.resource_version and opts.resource_version != obj["metadata"][
                    "resourceVersion"]:
                raise conflict(rt.plural, rt.group, name)
            if ctx.dry_run:
                return self.present(rt, obj)
            return self.present(rt, self.gc.delete(rt.store_key, obj, opts))

    def delete_collection(self, rt: ResourceType, ns: str | None, match: Predicate,
                          opts: DeleteOptions, ctx: Ctx) -> list[Obj]:
        items, _ = self.list_objects(rt, ns, match)
        return [self.delete(rt, o["metadata"].get("namespace", ""), o["metadata"]["name"], opts,
                            ctx) for o in items]

    def remove(self, tkey: TypeKey, obj: Obj) -> Obj:
        """Drop an object for good and let the collector react (dependents, owners, CRDs)."""
        removed = self.store.remove(tkey, obj)
        if tkey == CRD_KEY:
            self.registry.unregister_crd(removed["metadata"]["name"])
        self.gc.removed(tkey, removed)
        return removed

    # ---- pods --------------------------------------------------------------------------
    def evict(self, rt: ResourceType, ns: str, name: str, body: Any, ctx: Ctx) -> Obj:
        """The Eviction API: ask the pod's budget, mark it, delete it gracefully.

        As `pkg/registry/core/pod/storage/eviction.go`: terminal, pending and terminating
        pods go without asking budgets; otherwise the one PodDisruptionBudget selecting the
        pod must allow a disruption (429 TooManyRequests if not, 500 with more than one).
        The pod then gets `DisruptionTarget=True` (`EvictionByEvictionAPI`) and is deleted
        with the eviction's DeleteOptions, gracefully when it is bound and running. Returns
        the pod as it is afterwards.
        """
        eviction = body if isinstance(body, dict) else {}
        if (eviction.get("metadata") or {}).get("name") != name:
            raise ApiError(400, "name in URL does not match name in Eviction object")
        delete_options = eviction.get("deleteOptions") or {}
        pre = delete_options.get("preconditions") or {}
        opts = DeleteOptions(propagation=delete_options.get("propagationPolicy"),
                             grace=delete_options.get("gracePeriodSeconds"))
        ctx.dry_run = dry_run = ctx.dry_run or bool(delete_options.get("dryRun"))
        with self.store.lock:
            pod = self._existing(rt, ns, name)
            if not disruption.can_ignore_pdb(pod):
                budgets = [b for b in self.store.objects_of(PDB_KEY, ns)
                           if disruption.pdb_pods(b, [pod])]
                if len(budgets) > 1:
                    raise ApiError(500, "This pod has more than one PodDisruptionBudget, which "
                                        "the eviction subresource does not support.", reason="")
                if budgets:
                    disruption.check_budget(pod, budgets[0])
            self._eviction_preconditions(pod, pre)
            if dry_run:
                return self.present(rt, pod)
            marked = copy.deepcopy(pod)
            status = marked.setdefault("status", {})
            status["conditions"] = _with_condition(status.get("conditions") or [],
                                                   disruption.EVICTION_CONDITION)
            pod = self.store.commit(rt.store_key, marked, pod)
            return self.present(rt, self.gc.delete(rt.store_key, pod, opts))

    def _eviction_preconditions(self, pod: Obj, pre: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid, rv = pre.get("uid"), pre.get("resourceVersion")
        if uid and uid != meta["uid"]:
            raise ApiError(409, f'Operation cannot be fulfilled on Pod "{meta["name"]}": the UID '
                                f"in the precondition ({uid}) does not match the UID in record "
                                f"({meta['uid']}). The object might have been deleted and then "
                                "recreated", details={"name": meta["name"], "kind": "Pod"})
        if rv and rv != meta["resourceVersion"]:
            raise ApiError(409, f'Operation cannot be fulfilled on Pod "{meta["name"]}": the '
                                f"ResourceVersion in the precondition ({rv}) does not match the "
                                f"ResourceVersion in record ({meta['resourceVersion']}). The "
                                "object might have been modified",
                           details={"name": meta["name"], "kind": "Pod"})


def _with_condition(conditions: list[Obj], wanted: Obj) -> list[Obj]:
    """`podutil.UpdatePodCondition`: the transition time moves only when the status does."""
    out = []
    found = False
    for c in conditions:
        if c.get("type") == wanted["type"]:
            found = True
            moved = c.get("status") != wanted["status"]
            c = {**c, **wanted, "lastTransitionTime": now() if moved else c.get(
                "lastTransitionTime", now())}
        out.append(c)
    if not found:
        out.append({**wanted, "lastProbeTime": None, "lastTransitionTime": now()})
    return out
