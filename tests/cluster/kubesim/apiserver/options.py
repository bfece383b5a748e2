"""Request options shared by the verbs, and the server's timestamp format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def now(offset: float = 0) -> str:
    stamp = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=offset)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Ctx:
    """Per-request options that shape a write."""

    dry_run: bool = False
    field_manager: str = ""
    validation: str = "Warn"  # fieldValidation: Ignore, Warn or Strict
    warnings: list[str] = field(default_factory=list)


@dataclass
class DeleteOptions:
    propagation: str | None = None
    grace: int | None = None
    uid: str | None = None
    resource_version: str | None = None
