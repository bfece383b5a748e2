"""ONNX Runtime sessions for the exported graphs: checking, evaluating and timing them.

onnxruntime is imported here, inside the functions, and only this module and the export
modules use it: importing it (with onnx and onnxscript) costs about 2 s, which a trial
that neither exports nor times on ONNX Runtime should not pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PROVIDER = "CPUExecutionProvider"
BATCH = 1024


def open_session(path: Path, threads: int) -> Any:
    """A CPU session with pinned threads: `threads` intra-op, one inter-op (sequential)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: a trial's log is not ORT's
    return ort.InferenceSession(str(path), options, providers=[PROVIDER])


def logits(session: Any, images: np.ndarray) -> np.ndarray:
    """The session's output for float32 N,C,H,W images, in batches of at most BATCH."""
    name = session.get_inputs()[0].name
    parts = [session.run(None, {name: images[i:i + BATCH]})[0]
             for i in range(0, len(images), BATCH)]
    return np.concatenate(parts)


def version() -> str:
    import onnxruntime as ort

    return str(ort.__version__)
