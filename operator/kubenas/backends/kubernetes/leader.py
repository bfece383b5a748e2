"""Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it.

With several replicas every one watches (so its indices stay warm) but only the holder of
the Lease reconciles, so no write or event is ever made twice. The holder renews the Lease
every `renew_s`; a replica takes it over once it has seen the Lease unchanged for `lease_s`
by its own clock (never comparing clocks across nodes), with the Lease's resourceVersion as
a precondition so that only one of several contenders wins.
A leader that cannot renew within `lease_s` stops acting before anyone may take over, and a
leader that shuts down hands the Lease back at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from kubenas.backends.kubernetes.kube import Api, ApiError
from kubenas.backends.kubernetes.objects import Obj

log = logging.getLogger(__name__)
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


def _micro(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElection:
    def __init__(self, api: Api, namespace: str, name: str, identity: str, *,
                 lease_s: float = 10.0, renew_s: float = 2.0,
                 now: Callable[[], float] = time.time) -> None:
        self.api = api
        self.path = LEASES.format(namespace=namespace)
        self.name = name
        self.identity = identity
        self.lease_s, self.renew_s = lease_s, renew_s
        self.now = now
        self.is_leader = False
        self._renewed = 0.0
        self._seen: tuple[str, float] = ("", 0.0)  # (the Lease's record, when first seen)
        self.changed = asyncio.Event()

    def step(self) -> bool:
        """One attempt to acquire or renew; whether this replica leads afterwards."""
        now = self.now()
        try:
            lease = self.api.get(f"{self.path}/{self.name}")
            if lease is None:
                self.api.create(self.path, self._lease(None, now))
            else:
                spec = lease.get("spec") or {}
                holder = spec.get("holderIdentity")
                record = str(lease["metadata"].get("resourceVersion"))
                if record != self._seen[0]:
                    self._seen = (record, now)
                duration = float(spec.get("leaseDurationSeconds") or 0)
                expired = now - self._seen[1] > duration
                if holder and holder != self.identity and not expired:
                    return self._set(False)
                self.api.update(f"{self.path}/{self.name}", self._lease(lease, now))
        except ApiError as exc:
            if exc.status != 409:
                log.warning("leader election: %s", exc)
            # A lost race (409) or an unreachable server: lead only while the last renewal
            # is younger than the lease, so no other replica can hold it meanwhile.
            return self._set(self.is_leader and now - self._renewed < self.lease_s)
        self._renewed = now
        return self._set(True)

    def _lease(self, lease: Obj | None, now: float) -> Obj:
        spec = dict((lease or {}).get("spec") or {})
        taking = spec.get("holderIdentity") != self.identity
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=int(self.lease_s),
                    renewTime=_micro(now))
        if taking:
            spec.update(acquireTime=_micro(now),
                        leaseTransitions=int(spec.get("leaseTransitions") or 0)
                        + (1 if lease is not None else 0))
        meta: Obj = {"name": self.name}
        if lease is not None:
            meta["resourceVersion"] = lease["metadata"]["resourceVersion"]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": spec}

    def _set(self, leading: bool) -> bool:
        if leading != self.is_leader:
            log.info("%s %s the lease %s", self.identity,
                     "now holds" if leading else "no longer holds", self.name)
            self.is_leader = leading
        return leading

    async def run(self) -> None:
        """Renew forever; `changed` is set (in the event loop) whenever leadership flips."""
        while True:
            before = self.is_leader
            if await asyncio.to_thread(self.step) != before:
                self.changed.set()
            await asyncio.sleep(self.renew_s)

    def release(self) -> None:
        """Hand the lease back on shutdown, so that another replica takes over at once."""
        if not self.is_leader:
            return
        try:
            lease = self.api.get(f"{self.path}/{self.name}")
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                body = self._lease(lease, self.now())
                body["spec"].update(holderIdentity="", renewTime=_micro(0.0))
                self.api.update(f"{self.path}/{self.name}", body)
        except ApiError as exc:
            log.warning("could not release the lease: %s", exc)
        self.is_leader = False
