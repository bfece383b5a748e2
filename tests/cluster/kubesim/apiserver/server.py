"""The HTTP face of the emulator: an aiohttp app on a background thread.

Requests are JSON (YAML for server-side apply); responses are JSON, or a `Table` when the
client asks for `as=Table` (kubectl get). No authentication or authorisation: any token
or none is accepted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from . import decoding, discovery, protobuf, routes
from .api import ObjectApi
from .errors import ApiError
from .faults import Faults
from .options import Ctx, DeleteOptions
from .resources import Registry, ResourceType
from .selectors import field_selector, label_selector
from .store import Obj, Store, Watcher
from .table import to_table
from .watch import serve_watch

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set "
                      "propagationPolicy=Background to remove them or set "
                      "propagationPolicy=Orphan to suppress this warning")


@dataclass
class Hooks:
    """Callbacks an in-process kubelet may set.

    `pod_log(namespace, name, container)` returns the text for `pods/log`;
    `on_evict(pod)` learns that the Eviction API accepted an eviction: the pod as it is
    afterwards (marked `DisruptionTarget`, being deleted, or gone).
    """

    pod_log: Callable[[str, str, str | None], str] | None = None
    on_evict: Callable[[Obj], None] | None = None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json",
                        headers=headers)


def _error(err: ApiError) -> web.Response:
    return _json(err.status(), err.code, err.headers)


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"invalid {name}: {value!r}") from None


class ApiServer:
    """A Kubernetes API server emulator for tests; see tests/cluster/README.md."""

    def __init__(self, state_file: Path | None = None, port: int = 0) -> None:
        self.state_file = state_file
        self.store = Store()
        self.registry = Registry()
        self.api = ObjectApi(self.store, self.registry)
        self.faults = Faults(self.store)
        self.api.admission.webhook = self.faults.take_denial
        self.hooks = Hooks()
        self.bookmark_interval = 1.0
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        if state_file is not None and state_file.exists():
            self.store.load(state_file)
            for crd in self.store.objects_of(CRD_KEY):
                self.registry.register_crd(crd)
        else:
            self._bootstrap()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _bootstrap(self) -> None:
        ns = self.registry.get("", "v1", "namespaces")
        assert ns is not None
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.api.create(ns, "", {"metadata": {"name": name}}, Ctx())

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        """Serve on 127.0.0.1 (a free port the first time, the same port afterwards)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="kubesim-apiserver")
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self.url

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        """Stop serving; open watches end. State is kept (and saved to `state_file`)."""
        if self._loop is None or self._thread is None:
            return
        self.store.close_watches()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = self._runner = None
        if self.state_file is not None:
            self.store.save(self.state_file)

    def restart(self) -> str:
        self.stop()
        return self.start()

    def write_kubeconfig(self, path: Path, namespace: str = "default") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kubesim", "cluster": {"server": self.url}}],
            "users": [{"name": "kubesim", "user": {"token": "kubesim"}}],
            "contexts": [{"name": "kubesim", "context": {
                "cluster": "kubesim", "user": "kubesim", "namespace": namespace}}],
            "current-context": "kubesim",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        return path

    # ---- dispatch ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            fault = self.faults.take(request.method, request.path)
            if fault is not None:
                raise fault
            return await self._dispatch(request)
        except ApiError as err:
            return _error(err)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        fixed = self._fixed(parts)
        if fixed is not None:
            return fixed
        target = routes.parse(self.registry, parts)
        if target is None:
            raise ApiError(404, "the server could not find the requested resource")
        q = request.query
        ctx = Ctx(dry_run=bool(q.get("dryRun")), field_manager=q.get("fieldManager", ""),
                  validation=q.get("fieldValidation", "Warn"))
        method = request.method
        if method == "GET" and target.name is None:
            if target.legacy_watch or q.get("watch") in ("true", "1"):
                return await self._watch(request, target)
            return self._list(request, target)
        handler = {
            "GET": self._read, "POST": self._create, "PUT": self._replace,
            "PATCH": self._patch, "DELETE": self._delete,
        }.get(method)
        if handler is None:
            raise ApiError(405, f"method {method} not allowed")
        result = await handler(request, target, ctx)
        if isinstance(result, web.StreamResponse):
            return result
        body, status = result
        response = _json(body, status)
        for warning in ctx.warnings:
            # One header per warning, the text a quoted-string, as the real server sends it.
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            response.headers.add("Warning", f'299 - "{escaped}"')
        return response

    def _fixed(self, parts: list[str]) -> web.Response | None:
        """Everything that is not a resource: version, discovery, OpenAPI, health."""
        path = "/".join(parts)
        if path in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        if path == "version":
            return _json(discovery.VERSION)
        if path == "api":
            return _json(discovery.api_versions(f"127.0.0.1:{self.port}"))
        if path == "apis":
            return _json(discovery.group_list(self.registry))
        if path == "openapi/v3":
            return _json(discovery.openapi_root(self.registry))
        if path == "":
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]})
        if parts[:2] == ["openapi", "v3"]:
            rest = parts[2:]
            group, version = ("", rest[1]) if rest[:1] == ["api"] else (
                rest[1] if len(rest) > 2 else "", rest[-1])
            doc = discovery.gv_document(self.registry, group, version)
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource")
            return _json(doc)
        if parts[:1] == ["openapi"]:
            raise ApiError(404, "the server could not find the requested resource")
        if len(parts) == 2 and parts[0] == "apis":
            found = discovery.group(self.registry, parts[1])
        elif parts == ["api", "v1"]:
            found = discovery.resource_list(self.registry, "", "v1")
        elif len(parts) == 3 and parts[0] == "apis":
            found = discovery.resource_list(self.registry, parts[1], parts[2])
        else:
            return None
        if found is None:
            raise ApiError(404, "the server could not find the requested resource")
        return _json(found)

    # ---- verbs -------------------------------------------------------------------------
    def _wants_table(self, request: web.Request) -> bool:
        return "as=Table" in request.headers.get("Accept", "")

    def _match(self, request: web.Request, rt: ResourceType) -> Callable[[Obj], bool]:
        labels = label_selector(request.query.get("labelSelector"))
        fields = field_selector(request.query.get("fieldSelector"), rt.plural)
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, request: web.Request, target: routes.Target) -> web.Response:
        rt = target.rt
        items, rv = self.api.list_objects(rt, target.namespace, self._match(request, rt))
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        limit = _int(request.query.get("limit"), "limit")
        token = request.query.get("continue")
        if token:
            try:
                after = json.loads(base64.urlsafe_b64decode(token))["start"]
            except (ValueError, KeyError):
                raise ApiError(400, "invalid continue token") from None
            items = [o for o in items if _sort_key(o) > tuple(after)]
        if limit and len(items) > limit:
            last = _sort_key(items[limit - 1])
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"start": list(last), "rv": rv}).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if self._wants_table(request):
            return _json(to_table(rt, items, meta))
        kind = rt.extra.get("listKind") or f"{rt.kind}List"
        return _json({"kind": kind, "apiVersion": rt.group_version, "metadata": meta,
                      "items": items})

    async def _watch(self, request: web.Request, target: routes.Target) -> web.StreamResponse:
        rt = target.rt
        raw = request.query.get("resourceVersion")
        since = None if raw in (None, "", "0") else _int(raw, "resourceVersion")
        assert self._loop is not None
        watcher = Watcher(rt.store_key, target.namespace, self._match(request, rt), self._loop)
        timeout = _int(request.query.get("timeoutSeconds"), "timeoutSeconds")
        bookmarks = request.query.get("allowWatchBookmarks") in ("true", "1")

        as_table = self._wants_table(request)

        def present(obj: Obj) -> Obj:
            shown = {**obj, "apiVersion": rt.group_version, "kind": rt.kind}
            if as_table:
                return to_table(rt, [shown], {"resourceVersion": obj["metadata"][
                    "resourceVersion"]})
            return shown

        def bookmark(rv: int) -> Obj:
            return {"kind": rt.kind, "apiVersion": rt.group_version,
                    "metadata": {"resourceVersion": str(rv)}}

        initial_end = request.query.get("sendInitialEvents") == "true"
        if initial_end:
            since = None
        return await serve_watch(request, self.store, watcher, since, present,
                                 bookmark if bookmarks else None,
                                 None if timeout is None else float(timeout),
                                 self.bookmark_interval, initial_end)

    async def _read(self, request: web.Request, target: routes.Target,
                    ctx: Ctx) -> tuple[Obj, int] | web.Response:
        rt, ns, name = target.rt, target.namespace or "", target.name
        assert name is not None
        if target.sub == "log":
            self.api.get(rt, ns, name)
            container = request.query.get("container")
            text = self.hooks.pod_log(ns, name, container) if self.hooks.pod_log else ""
            return web.Response(text=text, content_type="text/plain")
        obj = self.api.get(rt, ns, name)
        if self._wants_table(request):
            return to_table(rt, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]}), 200
        return obj, 200

    async def _body(self, request: web.Request, into: str = "", version: str = "v1") -> Any:
        """The decoded body; `into` is the kind a create or update decodes it as."""
        raw = await request.read()
        if request.content_type == "application/vnd.kubernetes.protobuf":
            return protobuf.decode(raw)
        if not raw:
            return None
        try:
            if request.content_type == "application/apply-patch+yaml":
                return decoding.load_apply_yaml(raw)
            return decoding.load_json(raw)
        except decoding.GoDecodeError as exc:
            raise decoding.refusal(exc, request.method, PATCH_TYPES.get(request.content_type),
                                   into, raw, request.query.get("fieldValidation", "Warn"),
                                   version) from None
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"the body of the request could not be decoded: {exc}") from None

    async def _create(self, request: web.Request, target: routes.Target,
                      ctx: Ctx) -> tuple[Obj, int]:
        rt = target.rt
        body = await (self._body(request, "Eviction", "policy/v1") if target.sub == "eviction"
                      else self._body(request, rt.kind, rt.group_version))
        if target.sub == "eviction" and target.name is not None:
            pod = self.api.evict(rt, target.namespace or "", target.name, body, ctx)
            if self.hooks.on_evict is not None and not ctx.dry_run:
                self.hooks.on_evict(pod)
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "code": 201}, 201
        if target.name is not None:
            raise ApiError(405, "POST is only allowed on collections")
        if rt.namespaced and target.namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        return self.api.create(rt, target.namespace or "", body, ctx), 201

    async def _replace(self, request: web.Request, target: routes.Target,
                       ctx: Ctx) -> tuple[Obj, int]:
        if target.name is None:
            raise ApiError(405, "PUT is only allowed on objects")
        body = await self._body(request, target.rt.kind, target.rt.group_version)
        obj = self.api.update(target.rt, target.namespace or "", target.name, body,
                              target.sub, ctx)
        return obj, 200

    async def _patch(self, request: web.Request, target: routes.Target,
                     ctx: Ctx) -> tuple[Obj, int]:
        if target.name is None:
            raise ApiError(405, "PATCH is only allowed on objects")
        patch_type = PATCH_TYPES.get(request.content_type)
        if patch_type is None:
            raise ApiError(415, f"the body of the request was in an unknown format - accepted "
                                f"media types include: {', '.join(PATCH_TYPES)}",
                           reason="UnsupportedMediaType")
        body = await self._body(request)
        existed = self.store.get(target.rt.store_key, target.namespace or "",
                                 target.name) is not None
        force = request.query.get("force") in ("true", "1")
        obj = self.api.patch(target.rt, target.namespace or "", target.name, patch_type, body,
                             target.sub, ctx, force)
        return obj, 200 if existed else 201

    async def _delete(self, request: web.Request, target: routes.Target,
                      ctx: Ctx) -> tuple[Obj, int]:
        body = await self._body(request) or {}
        q = request.query
        pre = body.get("preconditions") or {}
        policy = q.get("propagationPolicy") or body.get("propagationPolicy")
        orphan = q.get("orphanDependents") or body.get("orphanDependents")
        if policy is None and orphan in ("true", True):
            policy = "Orphan"
        if policy is None and orphan is None and target.rt.store_key == ("batch", "jobs"):
            # batch/v1 keeps the Job's pods by default (DefaultGarbageCollectionPolicy), and
            # says so.
            policy = "Orphan"
            ctx.warnings.append(JOB_ORPHAN_WARNING)
        if body.get("dryRun"):
            ctx.dry_run = True
        grace = q.get("gracePeriodSeconds")
        opts = DeleteOptions(
            propagation=policy,
            grace=_int(grace, "gracePeriodSeconds") if grace else body.get("gracePeriodSeconds"),
            uid=pre.get("uid"), resource_version=pre.get("resourceVersion"),
        )
        rt = target.rt
        if target.name is None:
            items = self.api.delete_collection(rt, target.namespace, self._match(request, rt),
                                               opts, ctx)
            kind = rt.extra.get("listKind") or f"{rt.kind}List"
            return {"kind": kind, "apiVersion": rt.group_version,
                    "metadata": {"resourceVersion": str(self.store.rv)}, "items": items}, 200
        return self.api.delete(rt, target.namespace or "", target.name, opts, ctx), 200


def _sort_key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])
