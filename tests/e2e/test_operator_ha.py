"""Two operator replicas: one acts, and the other takes over when the leader is killed."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from kubesim.cluster import Cluster

from .conftest import Kubectl, Operator, experiment, wait_for, wait_phase

pytestmark = pytest.mark.slow
TAKEOVER_S = 15  # what the chart's two replicas promise (docs/operator.md)


def _leads(op: Operator) -> bool:
    match = re.search(r"^kubenas_leader (\S+)$", op.metrics(), re.M)
    return match is not None and float(match[1]) == 1


def test_the_survivor_takes_over_and_nothing_is_done_twice(
        kubectl: Kubectl, cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    replicas = []
    for i in range(2):
        (tmp_path / f"r{i}").mkdir()
        replicas.append(Operator(cluster, namespace, tmp_path / f"r{i}",
                                 extra=("--leader-election-namespace", namespace)).start())
    try:
        wait_for(lambda: sum(map(_leads, replicas)) == 1, timeout=20, what="one leader")
        kubectl.apply(experiment("ha", trials=10, parallel=2, epochs=3))
        wait_for(lambda: len(kubectl.items("nastrials")) >= 4, timeout=60, what="4 trials")
        leader, follower = sorted(replicas, key=_leads, reverse=True)
        assert not _leads(follower)
        killed = time.monotonic()
        leader.kill()
        wait_for(lambda: _leads(follower), timeout=TAKEOVER_S + 5, what="takeover")
        takeover = time.monotonic() - killed
        print(f"takeover after {takeover:.1f} s")
        assert takeover < TAKEOVER_S
        assert wait_phase(kubectl, "ha", timeout=120)["status"]["phase"] == "Succeeded"
    finally:
        for op in replicas:
            op.stop()
            print(op.logs())
    trials = sorted(t["metadata"]["name"] for t in kubectl.items("nastrials"))
    assert trials == sorted(f"ha-{i}" for i in range(10))
    pods = sorted(p["metadata"]["name"] for p in kubectl.items("pods"))
    assert pods == sorted(f"{t}-a0" for t in trials)  # no trial started twice
    events = Counter((e["involvedObject"]["name"], e["reason"], e["message"])
                     for e in kubectl.items("events"))
    assert events and max(events.values()) == 1, [e for e, n in events.items() if n > 1]
    lease = kubectl.get("lease", "kubenas-operator")
    assert lease["spec"]["leaseTransitions"] >= 1
