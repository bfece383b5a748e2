"""`coordination.k8s.io/v1` Leases as client-go's leader election uses them.

client-go's LeaseLock reads the Lease, and writes it back with the resourceVersion it read:
an update from a stale read is a 409 Conflict, which is how two candidates cannot both take
the lock. acquireTime and renewTime are `metav1.MicroTime`s: the server parses them with the
RFC3339Micro layout (exactly six fractional digits) and writes them back in UTC.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
from kubernetes import client as k8s
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock
from kubesim.apiserver import ApiServer
from kubesim.testing import Runner
from kubesim.testing_kubelet import wait_for


@pytest.fixture
def leases(api_client: k8s.ApiClient) -> k8s.CoordinationV1Api:
    return k8s.CoordinationV1Api(api_client)


def lease(name: str, holder: str, when: datetime, transitions: int = 0) -> k8s.V1Lease:
    return k8s.V1Lease(metadata=k8s.V1ObjectMeta(name=name), spec=k8s.V1LeaseSpec(
        holder_identity=holder, lease_duration_seconds=15, acquire_time=when, renew_time=when,
        lease_transitions=transitions))


def test_lock_acquire_renew_and_stale_takeover(leases: k8s.CoordinationV1Api, ns: str,
                                               apiserver: ApiServer) -> None:
    acquired = datetime(2026, 7, 23, 10, 0, 0, 123456, tzinfo=UTC)
    created = leases.create_namespaced_lease(ns, lease("leader", "a", acquired))
    assert created.spec.renew_time == acquired and created.spec.lease_transitions == 0
    raw = requests.get(f"{apiserver.url}/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/"
                       "leader", timeout=5).json()
    assert raw["spec"]["acquireTime"] == "2026-07-23T10:00:00.123456Z"

    # Both candidates read the same version; "a" renews first, "b"'s takeover is stale.
    seen_by_a = leases.read_namespaced_lease("leader", ns)
    seen_by_b = leases.read_namespaced_lease("leader", ns)
    seen_by_a.spec.renew_time = acquired + timedelta(seconds=2)
    renewed = leases.replace_namespaced_lease("leader", ns, seen_by_a)
    assert int(renewed.metadata.resource_version) > int(seen_by_b.metadata.resource_version)

    seen_by_b.spec.holder_identity = "b"
    seen_by_b.spec.lease_transitions = 1
    with pytest.raises(k8s.ApiException) as caught:
        leases.replace_namespaced_lease("leader", ns, seen_by_b)
    status = json.loads(caught.value.body)
    assert (caught.value.status, status["reason"]) == (409, "Conflict")
    assert status["message"] == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "leader": the object has '
        "been modified; please apply your changes to the latest version and try again")

    # Read again, and take over once the lease has expired, as client-go does.
    current = leases.read_namespaced_lease("leader", ns)
    assert current.spec.holder_identity == "a"
    later = datetime(2026, 7, 23, 10, 0, 30, 500000, tzinfo=timezone(timedelta(hours=2)))
    current.spec.holder_identity = "b"
    current.spec.acquire_time = current.spec.renew_time = later
    current.spec.lease_transitions = current.spec.lease_transitions + 1
    taken = leases.replace_namespaced_lease("leader", ns, current)
    assert (taken.spec.holder_identity, taken.spec.lease_transitions) == ("b", 1)
    raw = requests.get(f"{apiserver.url}/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/"
                       "leader", timeout=5).json()
    assert raw["spec"]["renewTime"] == "2026-07-23T08:00:30.500000Z"


def test_micro_times_need_six_fractional_digits(apiserver: ApiServer, ns: str) -> None:
    url = f"{apiserver.url}/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "l"}, "spec": {"renewTime": "2026-07-23T10:00:00Z"}}
    response = requests.post(url, json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["message"] == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time '
        '"2026-07-23T10:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as '
        '".000000"')


def test_lease_spec_is_validated(leases: k8s.CoordinationV1Api, ns: str) -> None:
    bad = lease("l", "a", datetime.now(UTC).replace(microsecond=1))
    bad.spec.lease_duration_seconds = 0
    bad.spec.lease_transitions = -1
    with pytest.raises(k8s.ApiException) as caught:
        leases.create_namespaced_lease(ns, bad)
    status = json.loads(caught.value.body)
    assert caught.value.status == 422
    assert status["message"] == (
        'Lease.coordination.k8s.io "l" is invalid: [spec.leaseDurationSeconds: Invalid value: '
        "0: must be greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater "
        "than or equal to 0]")


def test_python_client_leader_election(api_client: k8s.ApiClient, ns: str, kubectl: Runner,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client's LeaderElection + LeaseLock elect a leader through the emulator."""
    monkeypatch.setattr(k8s.Configuration, "_default", api_client.configuration)
    led, done = threading.Event(), threading.Event()

    def lead() -> None:
        led.set()
        done.wait(30)
        raise RuntimeError("stop leading")  # the library's way to end run()

    config = electionconfig.Config(
        LeaseLock("election", ns, "candidate-1"), lease_duration=4, renew_deadline=3,
        retry_period=1, onstarted_leading=lead, onstopped_leading=lambda: None)
    election = threading.Thread(target=leaderelection.LeaderElection(config).run, daemon=True)
    election.start()
    try:
        _check_the_elected_lease(kubectl, ns, led)
    finally:
        done.set()
        election.join(10)


def _check_the_elected_lease(kubectl: Runner, ns: str, led: threading.Event) -> None:
    wait_for(led.is_set, timeout=10, what="candidate-1 to lead")
    table = kubectl("get", "leases", "-n", ns).stdout.split()
    assert table[:3] == ["NAME", "HOLDER", "AGE"] and table[3:5] == ["election", "candidate-1"]
    first = json.loads(kubectl("get", "lease", "election", "-n", ns, "-o", "json").stdout)
    renew = first["spec"]["renewTime"]
    assert renew.endswith("Z") and len(renew.split(".")[1]) == 7
    wait_for(lambda: json.loads(kubectl("get", "lease", "election", "-n", ns, "-o",
                                        "json").stdout)["spec"]["renewTime"] != renew,
             timeout=10, what="the leader to renew its lease")
