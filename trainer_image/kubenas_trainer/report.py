"""The final result: one JSON line in the termination log and on stdout.

Kubernetes keeps at most 4 KiB of a termination message, so the result is built to fit:
numbers are rounded and the curve is cut from the front until the line fits. A metric
that is not finite (a NaN validation loss, say) is written as null: JSON has no NaN, and
the encoder refuses one rather than write the bare `NaN` that strict parsers reject.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_BYTES = 4096
MAX_CURVE = 50
PREFIX = "KUBENAS_RESULT "
SCORE_DIGITS = 4  # significant digits of a search's scores and weights (they are many)


def rounded(value: float | None, digits: int = 6) -> float | int | None:
    """`digits` significant digits; ints stay exact; None, NaN and infinities become None
    (null)."""
    if isinstance(value, int) or value is None:
        return value
    return float(f"{value:.{digits}g}") if math.isfinite(value) else None


def result_budget(budget: float) -> float | int:
    """A whole budget as an int (3, not 3.0), as the contract's examples show it."""
    return int(budget) if float(budget).is_integer() else budget


def build_result(metrics: dict[str, float | int], budget: float, epochs_trained: int,
                 steps_trained: int, resumed_from_epoch: int | None, checkpoint: str | None,
                 curve: list[float], latency: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the contract's result object (numbers rounded, curve trimmed); `latency` is
    the protocol that measured metrics.latency_ms."""
    return {
        "metrics": {k: rounded(v) for k, v in metrics.items()},
        "latency": latency,
        "budget": result_budget(budget),
        "epochs_trained": epochs_trained,
        "steps_trained": steps_trained,
        "resumed_from_epoch": resumed_from_epoch,
        "checkpoint": checkpoint,
        "curve": [rounded(v) for v in curve[-MAX_CURVE:]],
    }


def encode(result: dict[str, Any]) -> str:
    """Compact JSON that fits the termination-message limit, dropping old curve points."""
    result = dict(result, curve=list(result["curve"]))
    while True:
        text = json.dumps(result, separators=(",", ":"), allow_nan=False)
        if len(text.encode()) < MAX_BYTES or not result["curve"]:
            return text
        result["curve"].pop(0)


def fit(result: dict[str, Any], entries: list[Any]) -> int:
    """Drop items of `entries`, a list inside `result`, from the end (keeping one) while the
    encoded result, its curve already trimmed, would not fit; return how many went."""
    dropped = 0
    while len(entries) > 1 and len(encode(result).encode()) >= MAX_BYTES:
        entries.pop()
        dropped += 1
    return dropped


def prepare_termination_log(path: str, explicit: bool) -> str | None:
    """Return the path to write the result to, or None to skip it, before training starts.

    An explicitly requested path gets its directory created (and failures surface now,
    not after training). The default `/dev/termination-log` exists only in a Kubernetes
    container; elsewhere it is skipped with a warning.
    """
    if explicit:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return path
    if os.path.exists(path) and os.access(path, os.W_OK):
        return path
    print(f"kubenas-trainer: warning: {path} is not writable; the result goes to stdout only",
          file=sys.stderr)
    return None


def write_termination_log(path: str, text: str) -> None:
    """Write the result atomically; write in place where a rename cannot work.

    Kubernetes bind-mounts /dev/termination-log as a single file, and renaming over a
    mount point fails (EBUSY), so that case falls back to a plain overwrite; the kubelet
    reads the file only after the container exits.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError:
        target.write_text(text)
        return
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        target.write_text(text)


def emit(result: dict[str, Any], termination_log: str | None) -> str:
    """Write the result to the termination log (if any) and print it as stdout's last line."""
    text = encode(result)
    if termination_log is not None:
        write_termination_log(termination_log, text)
    print(PREFIX + text, flush=True)
    return text
