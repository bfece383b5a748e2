"""A fast trainer that honours the trial contract, for operator tests that need no torch.

The objective is a deterministic function of the architecture, so two runs of the same
search must find the same best. FAKE_MODE=crash exits 1, FAKE_MODE=hang never finishes,
FAKE_MODE=nan-loss reports a NaN val_loss beside its objective; FAKE_EPOCH_S sets the time
per epoch. In an indexed Job only completion index 0 reports.
"""

from __future__ import annotations

import json
import os
import sys
import time

from prometheus_client import CollectorRegistry, Gauge, start_http_server

mode = os.environ.get("FAKE_MODE", "ok")
if mode == "crash":
    print("fake trainer: simulated CUDA error", file=sys.stderr)
    sys.exit(1)
if os.environ.get("JOB_COMPLETION_INDEX", "0") != "0":
    sys.exit(0)  # a worker of a multi-pod trial: only index 0 reports the result
arch = json.loads(os.environ["KUBENAS_ARCHITECTURE"])["params"]
budget = int(float(os.environ["KUBENAS_BUDGET"]))
registry = CollectorRegistry()
metric = Gauge("kubenas_trial_metric", "latest metric values", ["metric"], registry=registry)
epoch_gauge = Gauge("kubenas_trial_epoch", "last finished epoch", registry=registry)
host = os.environ.get("KUBENAS_METRICS_HOST") or os.environ.get("POD_IP") or "127.0.0.1"
start_http_server(int(os.environ["KUBENAS_METRICS_PORT"]), addr=host, registry=registry)
quality = 0.5 + (sum(ord(c) for c in json.dumps(arch, sort_keys=True)) % 97) / 200
curve = []
for epoch in range(1, budget + 1):
    time.sleep(3600 if mode == "hang" else float(os.environ.get("FAKE_EPOCH_S", "0.2")))
    curve.append(round(quality * (1 - 0.5 ** epoch), 6))
    metric.labels("val_accuracy").set(curve[-1])
    epoch_gauge.set(epoch)
metrics = {"val_accuracy": curve[-1], **({"val_loss": float("nan")} if mode == "nan-loss" else {})}
line = json.dumps({"metrics": metrics, "budget": budget, "curve": curve})  # NaN: not JSON
with open(os.environ.get("KUBENAS_TERMINATION_LOG", "/dev/termination-log"), "w") as fh:
    fh.write(line)
print("KUBENAS_RESULT " + line, flush=True)
