"""The status machine: from the last status and a check's result to the next status and check time.

unchecked -> ok; a transient failure -> uncertain (rechecked soon, with backoff, before anyone is
told); transient failures that persist past CHECK_OFFLINE_AFTER -> offline; permanent outcomes ->
unauthorized or banned; flood_wait holds until its time. Any later success -> ok, by itself.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from accounts.models import AccountStatus
from accounts.telegram.outcomes import CheckOutcome, CheckResult
from project.retry import Backoff, RetryPolicy

# Transient failures: recheck after 30 s, 60 s, 120 s ... (jittered), never later than the normal interval.
TRANSIENT_RETRY = RetryPolicy(Backoff.EXPONENTIAL, base_seconds=30, max_seconds=900, max_attempts=1_000_000, jitter=0.2)
PERMANENT_RECHECK = dt.timedelta(hours=6)  # a dead session may come back (unban); look now and then
FLOOD_MARGIN = dt.timedelta(seconds=5)
DC_DOWN_RECHECK_SECONDS = 60  # about when the network monitor's probe may have closed the breaker


GOLDEN = 0.6180339887498949  # consecutive ids land far apart on the circle (a low-discrepancy sequence)


def account_phase(account_id: int, interval: int) -> float:
    """Where in each interval this account's check falls: ids spread evenly whatever order they came in."""
    return (account_id * GOLDEN) % 1.0 * interval


def phase_slot(now: dt.datetime, interval: int, phase: float) -> dt.datetime:
    """The first time after half an interval from now that sits at ``phase`` seconds into an interval (counted from
    the Unix epoch): from half to one and a half intervals away once, then exactly an interval each round."""
    earliest = now.timestamp() + interval / 2
    slot = math.ceil((earliest - phase) / interval) * interval + phase
    return dt.datetime.fromtimestamp(slot, dt.UTC)


def regular_slot(account_id: int, interval: int, now: dt.datetime) -> dt.datetime:
    """When a success at ``now`` has this account checked next (what status_next gives with its phase)."""
    return phase_slot(now, interval, account_phase(account_id, interval))


@dataclass(frozen=True)
class Next:
    status: str
    next_check_at: dt.datetime
    failures: int
    reason: str
    flood_wait_until: dt.datetime | None = None


def status_next(
    *, status: str, failures: int, result: CheckResult, now: dt.datetime, interval: int, jitter: int,
    offline_after: int, rng: random.Random | None = None, phase: float | None = None,
) -> Next:  # fmt: skip
    """``phase`` (seconds into each interval, from account_phase): a healthy account is next checked at its own
    slot, so a fleet checked all at once (an import, a restart) spreads evenly over the interval by the next round
    and stays so; without it, the interval with random jitter."""
    rng = rng or random
    outcome = result.outcome
    if outcome is CheckOutcome.OK:
        if phase is not None:
            return Next(AccountStatus.OK, phase_slot(now, interval, phase), 0, "check succeeded")
        spread = rng.uniform(-jitter, jitter) if jitter else 0
        return Next(AccountStatus.OK, now + dt.timedelta(seconds=max(30, interval + spread)), 0, "check succeeded")
    if outcome is CheckOutcome.FLOOD_WAIT:
        until = now + dt.timedelta(seconds=result.flood_seconds or 0)
        return Next(
            AccountStatus.FLOOD_WAIT, until + FLOOD_MARGIN, failures, f"flood wait {result.flood_seconds}s", until
        )
    if outcome is CheckOutcome.ERROR:
        # Nothing was asked of Telegram: the status stands; try again at the normal interval, not in a loop.
        return Next(status, now + dt.timedelta(seconds=interval), failures, f"error: {result.detail}"[:200])
    if outcome is CheckOutcome.PROXY_ERROR:
        # Telegram was never reached (and never directly instead): the account is not at fault, its status
        # stands and nothing counts toward offline; look again once the proxy may be back.
        delay = min(DC_DOWN_RECHECK_SECONDS * 5, interval)
        return Next(status, now + dt.timedelta(seconds=delay), failures, f"proxy_error: {result.detail}"[:200])
    if outcome is CheckOutcome.DC_DOWN:
        # The DC failed, not the account: nothing counts toward offline, and a healthy account is only uncertain.
        new = AccountStatus.UNCERTAIN if status in (AccountStatus.OK, AccountStatus.UNCHECKED) else status
        delay = min(DC_DOWN_RECHECK_SECONDS, interval)
        return Next(new, now + dt.timedelta(seconds=delay), failures, f"{result.detail or 'DC unreachable'}"[:200])
    if outcome.permanent:
        new = AccountStatus.BANNED if outcome is CheckOutcome.BANNED else AccountStatus.UNAUTHORIZED
        return Next(new, now + PERMANENT_RECHECK, failures + 1, f"{outcome}: {result.detail}"[:200])
    failures += 1
    delay = min(TRANSIENT_RETRY.delay(failures, rng), interval)
    new = AccountStatus.OFFLINE if failures >= offline_after else AccountStatus.UNCERTAIN
    if status in (AccountStatus.UNAUTHORIZED, AccountStatus.BANNED):
        new = status  # a network blip says nothing new about a dead session
    reason = f"{outcome}: {result.detail} ({failures} in a row)"[:200]
    return Next(new, now + dt.timedelta(seconds=delay), failures, reason)
