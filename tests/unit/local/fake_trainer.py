"""A trainer that honours the trial contract without torch, for fast runner tests.

The objective is a deterministic function of the architecture; FAKE_MODE makes it crash,
hang or withhold its final curve (to prove the runner scrapes /metrics).
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
    sys.exit(3)
arch = json.loads(os.environ["KUBENAS_ARCHITECTURE"])["params"]
budget = float(os.environ["KUBENAS_BUDGET"])
registry = CollectorRegistry()
metric = Gauge("kubenas_trial_metric", "latest metric values", ["metric"], registry=registry)
epoch_gauge = Gauge("kubenas_trial_epoch", "last finished epoch", registry=registry)
start_http_server(int(os.environ["KUBENAS_METRICS_PORT"]),
                  addr=os.environ.get("KUBENAS_METRICS_HOST", "127.0.0.1"), registry=registry)
if mode == "hang":
    time.sleep(3600)
quality = sum(ord(c) for c in json.dumps(arch, sort_keys=True)) % 97 / 100
curve = []
for epoch in range(1, int(budget) + 1):
    time.sleep(float(os.environ.get("FAKE_EPOCH_S", "0.05")))
    value = quality * (1 - 0.5 ** epoch)
    curve.append(value)
    metric.labels("val_accuracy").set(value)
    epoch_gauge.set(epoch)
time.sleep(float(os.environ.get("FAKE_LINGER_S", "0")))
result = {"metrics": {"val_accuracy": curve[-1], "params": len(json.dumps(arch))},
          "budget": budget, "epochs_trained": len(curve)}
if mode != "no-curve":
    result["curve"] = curve
line = json.dumps(result)
with open(os.environ["KUBENAS_TERMINATION_LOG"], "w") as fh:
    fh.write(line)
print("KUBENAS_RESULT " + line, flush=True)
