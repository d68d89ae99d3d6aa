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
