"""The edge example on the test cluster: trials pinned to a node class, latency on ONNX
Runtime, every trial's ONNX model and card on a PVC, status.bestModel naming the best."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from kubesim.cluster import Cluster

from .conftest import REPO, Kubectl, Operator, free_port

pytestmark = pytest.mark.slow


def test_edge_search_exports_models_where_the_experiment_says(kubectl: Kubectl,
                                                              operator: Operator,
                                                              cluster: Cluster) -> None:
    import onnxruntime as ort
    from sklearn.datasets import load_digits

    docs = list(yaml.safe_load_all((REPO / "examples" / "edge-cluster.yaml").read_text()))
    manifest = next(d for d in docs if d["kind"] == "NASExperiment")
    spec = manifest["spec"]
    spec["budget"] = {"maxTrials": 2, "maxParallelTrials": 2, "trialTimeout": "5m"}
    spec["training"]["epochs"] = 2
    # The emulator's nodes are all amd64: pin to one of them as the device class instead.
    spec["trialTemplate"]["nodeSelector"] = {"kubernetes.io/hostname": "cpu-1"}
    spec["trialTemplate"]["metricsPort"] = free_port()
    kubectl.apply(manifest)
    kubectl("wait", "--for=condition=Succeeded", "nasexperiment/edge-digits",
            "--timeout=300s", timeout=320)

    status = kubectl.get("nasexperiment", "edge-digits")["status"]
    best = status["bestTrial"]["name"]
    assert status["bestModel"] == f"/models/edge-digits/{best}"
    assert {p["spec"]["nodeName"] for p in kubectl.items("pods")} == {"cpu-1"}
    claim = cluster.workdir / "kubelet" / "pvc" / kubectl.namespace / "kubenas-models"
    exported = sorted(p.name for p in (claim / "edge-digits").iterdir())
    assert exported == sorted(t["metadata"]["name"] for t in kubectl.items("nastrials"))

    folder = claim / "edge-digits" / best
    card = json.loads((folder / "model-card.json").read_text())
    assert card["found_by"]["experiment"] == "edge-digits"
    assert card["found_by"]["trial"] == best
    assert card["latency"]["protocol"]["runtime"] == "onnxruntime"
    assert card["latency"]["protocol"]["threads"] == 1
    assert {m["precision"] for m in card["models"]} == {"float32", "int8"}
    # The model takes raw digits (0..16) and classifies them as the trial reported.
    digits = load_digits()
    session = ort.InferenceSession(str(folder / "model.onnx"))
    logits = session.run(None, {"images": digits.images[:, None].astype(np.float32)})[0]
    assert (logits.argmax(1) == digits.target).mean() > 0.5
    assert status["bestTrial"]["metrics"]["latency_ms"] > 0
    assert Path(folder / "MODEL_CARD.md").read_text().startswith("#")
