"""Read a trainer's Prometheus endpoint directly (local runs, and the operator's direct mode)."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


class ScrapeError(OSError):
    """The endpoint did not answer with Prometheus text."""


@dataclass(frozen=True)
class TrainerSample:
    """One scrape of the trial contract's metrics (docs/trial-contract.md)."""

    metrics: dict[str, float] = field(default_factory=dict)
    epoch: float | None = None
    samples_per_second: float | None = None


def parse(text: str) -> TrainerSample:
    """The contract's series; a non-finite value is as good as none."""
    metrics: dict[str, float] = {}
    epoch = throughput = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not math.isfinite(sample.value):
                continue
            if sample.name == "kubenas_trial_metric" and "metric" in sample.labels:
                metrics[sample.labels["metric"]] = float(sample.value)
            elif sample.name == "kubenas_trial_epoch":
                epoch = float(sample.value)
            elif sample.name == "kubenas_trial_samples_per_second":
                throughput = float(sample.value)
    return TrainerSample(metrics, epoch, throughput)


def scrape(url: str, timeout: float = 1.0) -> TrainerSample:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ScrapeError(f"cannot scrape {url}: {exc}") from exc
    try:
        return parse(text)
    except ValueError as exc:
        raise ScrapeError(f"{url} did not return Prometheus text: {exc}") from exc
