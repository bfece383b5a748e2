"""The few REST calls the operator makes, on the official client's connection and auth.

Objects stay plain dicts (what the API server sends), which keeps the reconcile code
independent of the client's generated models and lets tests swap in an in-memory fake.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any, Protocol

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kubenas.api.schema import GROUP, VERSION
from kubenas.backends.kubernetes.objects import EXPERIMENTS, TRIALS, Obj

MERGE_PATCH = "application/merge-patch+json"
TIMEOUT_S = 10.0
# Per call: transient failures (throttling, a restarting or overloaded server, a dropped
# connection) are retried with jittered backoff before the reconcile sees them.
TRANSIENT = frozenset({0, 429, 500, 502, 503, 504})
ATTEMPTS = 4
BACKOFF_S = 0.2
RETRY_AFTER_CAP_S = 10.0
CONNECTIONS = 64


class ApiError(Exception):
    """A refused or failed call; status 0 means no answer (connection or timeout)."""

    def __init__(self, status: int, message: str, reason: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.reason = reason
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT


class Api(Protocol):
    """What reconcile needs; `Kube` talks to a server, tests use an in-memory fake."""

    def get(self, path: str) -> Obj | None: ...
    def list(self, path: str, label_selector: str | None = None,
             field_selector: str | None = None) -> list[Obj]: ...
    def create(self, path: str, obj: Obj) -> Obj: ...
    def patch(self, path: str, patch: Obj) -> Obj: ...
    def update(self, path: str, obj: Obj) -> Obj: ...
    def delete(self, path: str, grace_period_s: int | None = None,
               propagation: str | None = None) -> None: ...


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the API server sends whole seconds)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def experiment_path(namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{EXPERIMENTS}"
    return f"{base}/{name}" if name else base


def trial_path(namespace: str, name: str = "") -> str:
    base = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{TRIALS}"
    return f"{base}/{name}" if name else base


def pod_path(namespace: str | None = None, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
    return f"{base}/{name}" if name else base


def job_path(namespace: str, name: str = "") -> str:
    base = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return f"{base}/{name}" if name else base


def event_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/events"


NODES = "/api/v1/nodes"


def load_client() -> k8s.ApiClient:
    """In-cluster config when running in a pod, else the kubeconfig (KUBECONFIG), with a
    connection pool as large as the calls the operator makes at once (the client's default
    is five per CPU, and a full pool drops connections)."""
    try:
        k8s_config.load_incluster_config()
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()
    config = k8s.Configuration.get_default_copy()
    config.connection_pool_maxsize = CONNECTIONS
    return k8s.ApiClient(config)


class Kube:
    def __init__(self, api_client: k8s.ApiClient,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = api_client
        self.sleep = sleep
        self.random = random.Random()

    def request(self, method: str, path: str, body: Any = None,
                query: list[tuple[str, str]] | None = None,
                content_type: str = "application/json") -> Obj:
        """One call, retried while the failure is transient (honouring Retry-After)."""
        if body is not None:
            try:
                json.dumps(body, allow_nan=False)
            except ValueError as exc:  # a bug upstream: the API server would refuse it
                raise ApiError(400, f"{method} {path}: refusing to send a non-finite number "
                                    f"({exc})", "BadRequest") from exc
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._once(method, path, body, query, content_type)
            except ApiError as exc:
                if not exc.transient or attempt == ATTEMPTS:
                    raise
                backoff = BACKOFF_S * 2 ** (attempt - 1) * (0.5 + self.random.random())
                self.sleep(min(exc.retry_after, RETRY_AFTER_CAP_S)
                           if exc.retry_after is not None else backoff)
        raise AssertionError("unreachable")

    def _once(self, method: str, path: str, body: Any, query: list[tuple[str, str]] | None,
              content_type: str) -> Obj:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method_, url, headers, body, _ = self.client.param_serialize(
            method, path, query_params=query or [], header_params=headers, body=body,
            auth_settings=["BearerToken"])
        try:
            response = self.client.call_api(method_, url, header_params=headers, body=body,
                                            _request_timeout=TIMEOUT_S)
        except (urllib3.exceptions.HTTPError, OSError, k8s.ApiException) as exc:
            raise ApiError(0, f"{method} {path}: no answer: {exc}") from exc
        data = response.read()
        if not 200 <= response.status < 300:
            try:
                status = json.loads(data)
                message, reason = status.get("message", ""), status.get("reason", "")
            except ValueError:
                message, reason = data[:300].decode(errors="replace"), ""
            raise ApiError(response.status, f"{method} {path}: {message}", reason,
                           _retry_after(response.headers.get("Retry-After")))
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

    def update(self, path: str, obj: Obj) -> Obj:
        return self.request("PUT", path, obj)

    def delete(self, path: str, grace_period_s: int | None = None,
               propagation: str | None = None) -> None:
        options = {"gracePeriodSeconds": grace_period_s, "propagationPolicy": propagation}
        body = {k: v for k, v in options.items() if v is not None} or None
        try:
            self.request("DELETE", path, body)
        except ApiError as exc:
            if exc.status != 404:
                raise
