"""The one-shot example on the test cluster: one supernet pod with the real trainer, then
its candidates retrained as ordinary trials; the status shows all three."""

from __future__ import annotations

import pytest
import yaml
from kubesim.cluster import Cluster

from .conftest import REPO, Kubectl, Operator, free_port

pytestmark = pytest.mark.slow


def test_a_one_shot_search_runs_one_supernet_pod_then_retrains_its_candidates(
        kubectl: Kubectl, operator: Operator, cluster: Cluster) -> None:
    docs = list(yaml.safe_load_all((REPO / "examples" / "oneshot-cluster.yaml").read_text()))
    for doc in docs:
        if doc["kind"] != "NASExperiment":
            kubectl.apply(doc)
    manifest = next(d for d in docs if d["kind"] == "NASExperiment")
    spec = manifest["spec"]
    # The example as written, on digits with a CPU-sized network and budget.
    spec["searchSpace"]["parameters"][1:] = [{"name": "cells_per_stage", "choice": [1]},
                                             {"name": "channels", "choice": [8]}]
    spec["strategy"]["settings"] = {"supernetEpochs": 2, "retrain": 2}
    spec["training"].update(dataset="digits", epochs=2, batchSize=64)
    spec["trialTemplate"]["metricsPort"] = free_port()
    kubectl.apply(manifest)
    kubectl("wait", "--for=condition=Succeeded", "nasexperiment/oneshot-mnist",
            "--timeout=300s", timeout=320)

    status = kubectl.get("nasexperiment", "oneshot-mnist")["status"]
    trials = sorted(kubectl.items("nastrials"), key=lambda t: t["spec"]["index"])
    assert [t["spec"]["kind"] for t in trials] == ["supernet", "train", "train"]
    supernet = trials[0]
    assert supernet["spec"]["request"]["method"] == "drnas"
    derived = supernet["status"]["derived"]
    assert len(derived["candidates"]) == 2 and derived["weightKind"] == "probability"
    assert len(derived["weights"]["edges"]) == 6
    shot = status["oneShot"]
    assert (shot["method"], shot["trial"], shot["phase"]) == ("drnas", "oneshot-mnist-0",
                                                              "Succeeded")
    assert [c["trial"] for c in shot["candidates"]] == ["oneshot-mnist-1", "oneshot-mnist-2"]
    retrained = {t["metadata"]["name"]: t for t in trials[1:]}
    for candidate in shot["candidates"]:
        trial = retrained[candidate["trial"]]
        assert trial["spec"]["architecture"] == candidate["architecture"]
        assert trial["spec"]["budget"] == 2
        assert candidate["value"] == trial["status"]["value"]
    assert status["bestTrial"]["name"] in retrained
    assert status["bestTrial"]["metrics"]["val_accuracy"] > 0.5
    # The supernet checkpointed every epoch to the claim every trial pod mounts.
    claim = cluster.workdir / "kubelet" / "pvc" / kubectl.namespace / "kubenas-checkpoints"
    assert (claim / "oneshot-mnist-0" / "checkpoint.pt").is_file()
    header, *rows = kubectl("get", "nastrials").stdout.splitlines()
    kinds = [dict(zip(header.split(), row.split(), strict=False))["KIND"] for row in rows]
    assert sorted(kinds) == ["supernet", "train", "train"]
