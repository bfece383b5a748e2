"""A minimal client for Prometheus' HTTP query API (`/api/v1/query`).

The operator reads learning curves here instead of scraping trial pods itself, so it needs
no network path to the pods and a missed scrape is Prometheus' problem, not the search's.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


class QueryError(OSError):
    """Prometheus could not be reached or refused the query."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    value: float


def label_value(value: str) -> str:
    """A PromQL string literal body: backslashes and quotes escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(name: str, /, **labels: str) -> str:
    """`name{a="x",b="y"}` with values escaped; label order is kept."""
    inner = ",".join(f'{k}="{label_value(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


class Prometheus:
    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def query(self, promql: str) -> list[Series]:
        """An instant query; only vector results are expected."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise QueryError(f"prometheus answered {exc.code} to {promql!r}: "
                             f"{exc.read()[:300]!r}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise QueryError(f"cannot query prometheus at {self.url}: {exc}") from exc
        if body.get("status") != "success":
            raise QueryError(f"prometheus refused {promql!r}: {body.get('error')}")
        data = body.get("data") or {}
        if data.get("resultType") != "vector":
            raise QueryError(f"expected a vector for {promql!r}, got {data.get('resultType')}")
        series = [Series(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]
        return [s for s in series if math.isfinite(s.value)]  # NaN means no value
