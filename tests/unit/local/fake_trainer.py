"""A trainer that honours the trial contract without torch, for fast runner tests.

The objective is a deterministic function of the architecture. FAKE_MODE makes it
misbehave: crash, hang, withhold its final curve (to prove the runner scrapes /metrics),
print a result that is not JSON, report NaN (as the objective or another metric) or a
string, or spawn a child process that would outlive it; FAKE_MODE_TRIALS limits that to some
trial indices. Each start appends the trainer's pid
to `starts` in the checkpoint directory, and an existing `starts` file counts as a resume.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from prometheus_client import CollectorRegistry, Gauge, start_http_server

mode = os.environ.get("FAKE_MODE", "ok")
only = os.environ.get("FAKE_MODE_TRIALS")  # e.g. "0,2": misbehave in these trials only
if only and os.environ["KUBENAS_TRIAL"].rsplit("-", 1)[1] not in only.split(","):
    mode = "ok"
if mode == "crash":
    print("fake trainer: simulated CUDA error", file=sys.stderr)
    sys.exit(3)
checkpoint = os.environ.get("KUBENAS_CHECKPOINT_DIR")
resumed = False
if checkpoint:
    os.makedirs(checkpoint, exist_ok=True)
    starts = os.path.join(checkpoint, "starts")
    resumed = os.path.exists(starts)
    with open(starts, "a") as fh:
        fh.write(f"{os.getpid()}\n")
if mode == "child":  # a grandchild in the trainer's process group
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
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
          "budget": budget, "epochs_trained": len(curve), "resumed": resumed}
if mode != "no-curve":
    result["curve"] = curve
if mode == "nan":
    result["metrics"]["val_accuracy"] = float("nan")
elif mode == "nan-other":
    result["metrics"]["val_loss"] = float("inf")
elif mode == "string":
    result["metrics"]["val_accuracy"] = str(curve[-1])
line = json.dumps(result)  # Python writes NaN and Infinity, which JSON has not
if mode == "bad-json":
    line = "{not json"
with open(os.environ["KUBENAS_TERMINATION_LOG"], "w") as fh:
    fh.write(line)
print("KUBENAS_RESULT " + line, flush=True)
