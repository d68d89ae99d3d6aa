"""What a check can find, and what each finding means for retrying."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CheckOutcome(enum.StrEnum):
    OK = "ok"
    REVOKED = "revoked"  # auth key unregistered, session revoked or expired
    BANNED = "banned"  # user deactivated or banned
    DUPLICATED = "duplicated"  # the key was used from two places at once; Telegram killed it
    FLOOD_WAIT = "flood_wait"
    NETWORK = "network"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    DC_DOWN = "dc_down"  # the DC's circuit breaker is open: the DC failed, not this account
    ERROR = "error"  # the check could not start (vault, session, configuration): ours to fix, not Telegram's
    PROXY_ERROR = "proxy_error"  # the account's proxy is down, refused us or stalled: neither Telegram nor the account

    @property
    def permanent(self) -> bool:
        return self in (CheckOutcome.REVOKED, CheckOutcome.BANNED, CheckOutcome.DUPLICATED)

    @property
    def transient(self) -> bool:
        return self in (CheckOutcome.NETWORK, CheckOutcome.TIMEOUT, CheckOutcome.SERVER_ERROR)


@dataclass(frozen=True)
class CheckResult:
    outcome: CheckOutcome
    detail: str = ""  # an error name such as AUTH_KEY_UNREGISTERED; never a secret
    latency_ms: int = 0
    flood_seconds: int | None = None
    user_id: int | None = None
    country: str | None = None  # through a proxy: the country Telegram places its exit address in
