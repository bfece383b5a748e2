"""Leader election on a Lease: one leader, a takeover once its lease lapses, a fast handover."""

from __future__ import annotations

from kubenas.backends.kubernetes.leader import LEASES, LeaderElection

from .fake_api import FakeApi


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _pair() -> tuple[FakeApi, Clock, LeaderElection, LeaderElection]:
    api, clock = FakeApi(), Clock()
    a = LeaderElection(api, "kubenas", "op", "a", lease_s=10, renew_s=2, now=clock)
    b = LeaderElection(api, "kubenas", "op", "b", lease_s=10, renew_s=2, now=clock)
    return api, clock, a, b


def test_one_replica_leads_and_keeps_renewing() -> None:
    api, clock, a, b = _pair()
    assert a.step() and not b.step()
    for _ in range(20):
        clock.t += 2
        assert a.step() and not b.step()
    lease = api.objects[LEASES.format(namespace="kubenas") + "/op"]
    assert lease["spec"]["holderIdentity"] == "a" and lease["spec"]["leaseTransitions"] == 0


def test_a_silent_leader_is_replaced_once_its_lease_lapses() -> None:
    api, clock, a, b = _pair()
    assert a.step() and not b.step()
    clock.t += 9
    assert not b.step()  # unchanged for 9 s: still a's
    clock.t += 2
    assert b.step()  # 11 s without a renewal: b takes over
    lease = api.objects[LEASES.format(namespace="kubenas") + "/op"]
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    assert not a.step()  # a, back, sees b holding it


def test_clocks_are_never_compared_across_replicas() -> None:
    """a's clock is an hour ahead and b's a day behind: only b's own observations count."""
    api, clock, _, _ = _pair()
    a = LeaderElection(api, "kubenas", "op", "a", lease_s=10, renew_s=2,
                       now=lambda: clock.t + 3600)
    b = LeaderElection(api, "kubenas", "op", "b", lease_s=10, renew_s=2,
                       now=lambda: clock.t - 86400)
    assert a.step()
    for _ in range(10):
        clock.t += 2
        assert a.step() and not b.step()
    clock.t += 9
    assert not b.step()
    clock.t += 2
    assert b.step()


def test_a_leader_that_cannot_renew_stops_before_anyone_may_take_over() -> None:
    api, clock, a, _ = _pair()
    assert a.step()
    api.refuse("PUT", "leases", 503, "unavailable")
    clock.t += 4
    assert a.step()  # renewed 4 s ago: still safe to act
    clock.t += 7
    assert not a.step()  # 11 s: another replica may hold it now


def test_a_released_lease_is_taken_at_once() -> None:
    _, clock, a, b = _pair()
    assert a.step()
    a.release()
    clock.t += 1
    assert b.step() and not a.is_leader


def test_only_one_of_two_racing_replicas_wins() -> None:
    """Both saw the same expired lease; the resourceVersion precondition lets one write."""
    api, clock, a, b = _pair()
    path = LEASES.format(namespace="kubenas") + "/op"
    assert a.step()
    seen = api.get(path)

    class Before(FakeApi):  # c read the lease before b wrote it
        def get(self, wanted: str) -> dict | None:
            return seen if wanted == path else api.get(wanted)

        def update(self, wanted: str, obj: dict) -> dict:
            return api.update(wanted, obj)

    c = LeaderElection(Before(), "kubenas", "op", "c", lease_s=10, renew_s=2, now=clock)
    assert not b.step() and not c.step()  # both see a's lease
    clock.t += 11
    assert b.step()
    assert not c.step()
    assert api.objects[path]["spec"]["holderIdentity"] == "b"
