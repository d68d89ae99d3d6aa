"""A circuit breaker per Telegram DC address, shared by every worker through the cache.

When CHECK_BREAKER_FAILURES checks of different accounts in a row fail at the transport (no answer,
connection refused or reset) against one address, the breaker opens: further checks for that address
end at once as `dc_down` ("DC unreachable") instead of each waiting out its deadline, and no account
is counted toward offline for what was the DC's fault. The network monitor's probe closes it again when
the address answers; it also closes by itself after CHECK_BREAKER_OPEN_SECONDS.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from accounts.telegram.endpoint import Endpoint
from accounts.telegram.outcomes import CheckOutcome, CheckResult

TRANSPORT = (CheckOutcome.NETWORK, CheckOutcome.TIMEOUT)
DC_UNREACHABLE = "DC unreachable"


def address(endpoint: Endpoint) -> str:
    return f"{endpoint.host}:{endpoint.port}"


def _open_key(addr: str) -> str:
    return f"tgfleet:dc-breaker:open:{addr}"


def _failures_key(addr: str) -> str:
    return f"tgfleet:dc-breaker:failures:{addr}"


class DcBreakers:
    """One batch's view of the breakers: asks the cache, remembers what it learnt, records results.

    A healthy batch costs the cache little: whether a DC is open is asked at most once a second per address,
    and a run of failures is reset by the first answer after a failure, not by every answer.
    """

    LOOK_AGAIN_SECONDS = 1.0

    def __init__(self) -> None:
        self.opened_here: set[str] = set()  # opened by this batch: it raises the alert
        self._known_open: set[str] = set()
        self._looked_at: dict[str, float] = {}
        self._reset: set[str] = set()  # addresses whose failure count this batch has reset since its last failure

    def is_open(self, endpoint: Endpoint) -> bool:
        addr = address(endpoint)
        if addr in self._known_open:
            return True
        now = time.monotonic()
        if now - self._looked_at.get(addr, -self.LOOK_AGAIN_SECONDS) < self.LOOK_AGAIN_SECONDS:
            return False
        self._looked_at[addr] = now
        if cache.get(_open_key(addr)):
            self._known_open.add(addr)
            return True
        return False

    def record(self, endpoint: Endpoint, result: CheckResult) -> None:
        addr = address(endpoint)
        if result.outcome not in TRANSPORT:
            if result.outcome is not CheckOutcome.DC_DOWN and addr not in self._reset:
                cache.delete(_failures_key(addr))  # the DC answered: the run of failures is over
                self._reset.add(addr)
            return
        self._reset.discard(addr)
        key = _failures_key(addr)
        cache.add(key, 0, timeout=settings.CHECK_BREAKER_OPEN_SECONDS)
        try:
            failures = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.CHECK_BREAKER_OPEN_SECONDS)
            failures = 1
        if failures >= settings.CHECK_BREAKER_FAILURES:
            self._known_open.add(addr)
            if cache.add(_open_key(addr), failures, timeout=settings.CHECK_BREAKER_OPEN_SECONDS):
                self.opened_here.add(addr)

    def was_open(self, endpoint: Endpoint) -> bool:
        return address(endpoint) in self._known_open


def dc_down_result(result: CheckResult | None = None) -> CheckResult:
    """The outcome of a check the breaker stopped (or whose own transport failure it now explains)."""
    if result is None:
        return CheckResult(CheckOutcome.DC_DOWN, DC_UNREACHABLE)
    return CheckResult(CheckOutcome.DC_DOWN, f"{DC_UNREACHABLE} ({result.detail or result.outcome})"[:200],
                       result.latency_ms)  # fmt: skip


def breaker_close(endpoint: Endpoint) -> bool:
    """The address answered a probe: let checks through again. True if it was open."""
    addr = address(endpoint)
    was_open = cache.get(_open_key(addr)) is not None
    cache.delete_many([_open_key(addr), _failures_key(addr)])
    return was_open


def breaker_is_open(endpoint: Endpoint) -> bool:
    return cache.get(_open_key(address(endpoint))) is not None
