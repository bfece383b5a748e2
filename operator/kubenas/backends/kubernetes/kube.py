"""The few REST calls the operator makes, on the official client's connection and auth.

Objects stay plain dicts (what the API server sends), which keeps the reconcile code
independent of the client's generated models and lets tests swap in an in-memory fake.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kubenas.api.schema import GROUP, VERSION
from kubenas.backends.kubernetes.objects import EXPERIMENTS, TRIALS, Obj

MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_S = 10.0


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class Api(Protocol):
    """What reconcile needs; `Kube` talks to a server, tests use an in-memory fake."""

    def get(self, path: str) -> Obj | None: ...
    def list(self, path: str, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]: ...
    def create(self, path: str, obj: Obj) -> Obj: ...
    def patch(self, path: str, patch: Obj) -> Obj: ...
    def delete(self, path: str, grace_period_s: int | None = None) -> None: ...


def experiment_path(namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{EXPERIMENTS}"
    return f"{base}/{name}" if name else base


def trial_path(namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{TRIALS}"
    return f"{base}/{name}" if name else base


def pod_path(namespace: str | None = None, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
    return f"{base}/{name}" if name else base


def event_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/events"


NODES = "/api/v1/nodes"


def load_client() -> k8s.ApiClient:
    """In-cluster config when running in a pod, else the kubeconfig (KUBECONFIG)."""
    try:
        k8s_config.load_incluster_config()
        return k8s.ApiClient()
    except k8s_config.ConfigException:
        return k8s_config.new_client_from_config()


class Kube:
    def __init__(self, api_client: k8s.ApiClient) -> None:
        self.client = api_client

    def request(self, method: str, path: str, body: Any = None,
                query: list[tuple[str, str]] | None = None,
                content_type: str = "application/json") -> Obj:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method_, url, headers, body, _ = self.client.param_serialize(
            method, path, query_params=query or [], header_params=headers, body=body,
            auth_settings=["BearerToken"])
        response = self.client.call_api(method_, url, header_params=headers, body=body,
                                        _request_timeout=TIMEOUT_S)
        data = response.read()
        if not 200 <= response.status < 300:
            try:
                message = json.loads(data).get("message", "")
            except ValueError:
                message = data[:300].decode(errors="replace")
            raise ApiError(response.status, f"{method} {path}: {message}")
        return json.loads(data) if data else {}

    def get(self, path: str) -> Obj | None:
        try:
            return self.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, path: str, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]:
        query = [(k, v) for k, v in (("labelSelector", label_selector),
                                     ("fieldSelector", field_selector)) if v]
        items: list[Obj] = self.request("GET", path, query=query).get("items") or []
        return items

    def create(self, path: str, obj: Obj) -> Obj:
        return self.request("POST", path, obj)

    def patch(self, path: str, patch: Obj) -> Obj:
        return self.request("PATCH", path, patch, content_type=MERGE_PATCH)

    def delete(self, path: str, grace_period_s: int | None = None) -> None:
        body = {"gracePeriodSeconds": grace_period_s} if grace_period_s is not None else None
        try:
            self.request("DELETE", path, body)
        except ApiError as exc:
            if exc.status != 404:
                raise
