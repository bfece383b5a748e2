"""Pod IPs from the loopback range, so every pod can bind its own address on this host."""

from __future__ import annotations

import ipaddress

FIRST = int(ipaddress.IPv4Address("127.0.0.2"))
LAST = int(ipaddress.IPv4Address("127.0.255.254"))


class AddressPool:
    """Hands out the lowest free address, so a deleted pod's IP is the next one reused."""

    def __init__(self) -> None:
        self._used: set[int] = set()

    def acquire(self) -> str:
        for value in range(FIRST, LAST + 1):
            if value not in self._used:
                self._used.add(value)
                return str(ipaddress.IPv4Address(value))
        raise RuntimeError("kubesim: pod address range exhausted")

    def release(self, address: str) -> None:
        self._used.discard(int(ipaddress.IPv4Address(address)))
