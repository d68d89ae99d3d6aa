"""The status machine, driven through a sequence of outcomes."""

import datetime as dt
import random

import pytest

from accounts.checks.status import status_next
from accounts.telegram.outcomes import CheckOutcome, CheckResult
from project.retry import Backoff, RetryPolicy

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def _walk(outcomes: list[CheckResult], status: str = "unchecked") -> list[tuple[str, float]]:
    """Returns (status, seconds until the next check) after each outcome."""
    failures, seen, rng = 0, [], random.Random(7)
    for result in outcomes:
        nxt = status_next(
            status=status, failures=failures, result=result, now=NOW, interval=900, jitter=60, offline_after=3, rng=rng
        )
        status, failures = nxt.status, nxt.failures
        seen.append((status, (nxt.next_check_at - NOW).total_seconds()))
    return seen


OK = CheckResult(CheckOutcome.OK)
NET = CheckResult(CheckOutcome.NETWORK, "ConnectionResetError")
TIMEOUT = CheckResult(CheckOutcome.TIMEOUT)


def test_transient_failures_go_uncertain_then_offline_then_recover() -> None:
    walk = _walk([OK, NET, TIMEOUT, NET, NET, OK])

    assert [s for s, _ in walk] == ["ok", "uncertain", "uncertain", "offline", "offline", "ok"]
    delays = [d for _, d in walk]
    assert 840 <= delays[0] <= 960  # the interval, jittered
    assert 24 <= delays[1] <= 30 and 48 <= delays[2] <= 60 and 96 <= delays[3] <= 120  # backoff, before telling anyone
    assert 840 <= delays[5] <= 960


def test_permanent_outcomes_go_straight_to_their_status_and_recover_on_success() -> None:
    revoked = CheckResult(CheckOutcome.REVOKED, "401 AUTH_KEY_UNREGISTERED")
    banned = CheckResult(CheckOutcome.BANNED, "401 USER_DEACTIVATED_BAN")
    duplicated = CheckResult(CheckOutcome.DUPLICATED, "AUTH_KEY_DUPLICATED")

    assert [s for s, _ in _walk([OK, revoked, NET, OK])] == ["ok", "unauthorized", "unauthorized", "ok"]
    assert [s for s, _ in _walk([banned])] == ["banned"]
    assert [s for s, _ in _walk([duplicated])] == ["unauthorized"]


def test_a_flood_wait_holds_until_its_time() -> None:
    [(status, delay)] = _walk([CheckResult(CheckOutcome.FLOOD_WAIT, flood_seconds=3600)], status="ok")

    assert status == "flood_wait" and delay == 3605


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [(Backoff.FIXED, [5, 5, 5, 5]), (Backoff.LINEAR, [5, 10, 15, 20]), (Backoff.EXPONENTIAL, [5, 10, 20, 30])],
)
def test_retry_policies_without_jitter(backoff, expected) -> None:
    policy = RetryPolicy(backoff, base_seconds=5, max_seconds=30, max_attempts=4)

    assert [policy.delay(n) for n in range(1, 5)] == expected
    assert not policy.gives_up_after(3) and policy.gives_up_after(4)


def test_jitter_stays_within_its_share() -> None:
    policy = RetryPolicy(Backoff.EXPONENTIAL, base_seconds=10, max_seconds=100, max_attempts=5, jitter=0.5)
    rng = random.Random(1)

    delays = [policy.delay(3, rng) for _ in range(500)]

    assert min(delays) >= 20 and max(delays) <= 40 and len(set(delays)) > 400


@pytest.mark.parametrize(
    "kwargs",
    [{"base_seconds": 0}, {"max_seconds": 1}, {"max_attempts": 0}, {"jitter": 1.5}],
)
def test_a_malformed_policy_is_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**{"backoff": Backoff.FIXED, "base_seconds": 5, "max_seconds": 30, "max_attempts": 3, **kwargs})


def test_a_healthy_account_is_next_checked_at_its_own_slot_and_then_every_interval() -> None:
    from accounts.checks.status import account_phase

    phase = account_phase(12345, 900)
    first = status_next(status="unchecked", failures=0, result=OK, now=NOW, interval=900, jitter=60,
                        offline_after=3, phase=phase).next_check_at  # fmt: skip
    assert 450 < (first - NOW).total_seconds() <= 1350 and abs(first.timestamp() % 900 - phase) < 1e-3
    second = status_next(status="ok", failures=0, result=OK, now=first + dt.timedelta(seconds=0.4), interval=900,
                         jitter=60, offline_after=3, phase=phase).next_check_at  # fmt: skip
    assert (second - first).total_seconds() == pytest.approx(900)


def test_fifty_thousand_accounts_checked_in_one_minute_spread_evenly_over_the_next_round() -> None:
    """An import (or a restart) checks everyone at once; from the next round on, no minute carries more than 1.5
    times the mean."""
    from collections import Counter

    from accounts.checks.status import account_phase

    interval, n = 900, 50_000
    minutes = Counter()
    for pk in range(1, n + 1):
        now = NOW + dt.timedelta(seconds=pk % 60)  # all within the same minute
        nxt = status_next(status="unchecked", failures=0, result=OK, now=now, interval=interval, jitter=60,
                          offline_after=3, phase=account_phase(pk, interval)).next_check_at  # fmt: skip
        minutes[int(nxt.timestamp() // 60)] += 1
    mean = n / (interval / 60)
    assert len(minutes) >= interval // 60 and max(minutes.values()) <= 1.5 * mean
