"""RFC 3339 timestamps as Kubernetes writes them (second precision, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None
