"""A minimal Kubernetes REST client: the kubelet speaks plain HTTP to any API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import requests

Obj = dict[str, Any]
PATCH_TYPES = {"merge": "application/merge-patch+json",
               "strategic": "application/strategic-merge-patch+json",
               "json": "application/json-patch+json"}


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status
        self.body = body

    def message(self) -> str:
        """The `message` of the server's Status, else the body."""
        try:
            return str(json.loads(self.body)["message"])
        except (ValueError, KeyError, TypeError):
            return self.body


class ApiClient:
    """Just the verbs a kubelet, a scheduler and a Job controller need, with JSON bodies."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    @property
    def _session(self) -> requests.Session:
        # requests.Session is not thread-safe; each thread (loop, watch, test) gets its own.
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(self, method: str, path: str, body: Obj | None = None,
                patch_type: str = "merge", **kw: Any) -> Obj:
        headers = {"Content-Type": PATCH_TYPES[patch_type]} if method == "PATCH" else {}
        resp = self._session.request(
            method, self.url + path, json=body, headers=headers, timeout=self.timeout, **kw
        )
        if resp.status_code >= 400:
            raise ApiError(resp.status_code, resp.text)
        return resp.json() if resp.content else {}

    def get(self, path: str, **params: Any) -> Obj:
        return self.request("GET", path, params=params or None)

    def items(self, path: str, **params: Any) -> list[Obj]:
        return self.get(path, **params).get("items") or []

    def post(self, path: str, body: Obj) -> Obj:
        return self.request("POST", path, body)

    def patch(self, path: str, body: Obj, patch_type: str = "merge") -> Obj:
        """`patch_type` "strategic" merges keyed lists (conditions by type), as kubelets do."""
        return self.request("PATCH", path, body, patch_type)

    def delete(self, path: str, body: Obj | None = None) -> Obj:
        return self.request("DELETE", path, body)

    def watch(self, path: str, stop: threading.Event, timeout_seconds: int = 30) -> Iterator[Obj]:
        """Yields watch events until the server ends the stream or `stop` is set."""
        params: dict[str, str | int] = {"watch": "true", "timeoutSeconds": timeout_seconds}
        with requests.get(
            self.url + path,
            params=params,
            stream=True,
            timeout=(self.timeout, timeout_seconds + 5),
        ) as resp:
            if resp.status_code >= 400:
                raise ApiError(resp.status_code, resp.text)
            for line in resp.iter_lines():
                if stop.is_set():
                    return
                if line:
                    yield json.loads(line)


def pod_path(namespace: str, name: str, sub: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}" + (f"/{sub}" if sub else "")
