"""A silent or dead DC: the command checks concurrently, the breaker stops the hammering, a probe reopens it."""

import time

import pytest
from django.core.management import call_command

from accounts.models import AccountStatus, TelegramAccount
from accounts.services import session_import
from accounts.services.checks import checks_run, leases_claim
from accounts.sessions import InputFile
from accounts.telegram.monitor import endpoints_probe
from alerts.models import Alert
from conftest import SYSTEM
from tests import session_makers as make
from tests.mtproto_dc.server import OK, SILENT

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(90)]
DEADLINE = 2


@pytest.fixture
def silent_dc(telegram_dc, settings):
    settings.TELEGRAM_CHECK_TIMEOUT = DEADLINE
    return telegram_dc


def _accounts(dc, count: int, behaviour=SILENT) -> list[tuple[TelegramAccount, bytes]]:
    made = []
    for i in range(count):
        key = make.random_key()
        dc.add_key(key, behaviour)
        files = [InputFile(f"a{i}.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
        report = session_import(actor=SYSTEM, files=files)
        made.append((TelegramAccount.objects.get(pk=report.outcomes[0].account_id), key))
    return made


def _run(accounts) -> list:
    ids = [a.pk for a, _ in accounts]
    return checks_run(leases_claim(ids, owner="test"), owner="test")


def test_check_accounts_all_checks_concurrently_so_a_silent_dc_costs_about_one_deadline(silent_dc, settings, capsys):
    settings.CHECK_BREAKER_FAILURES = 100  # the command's concurrency alone
    accounts = _accounts(silent_dc, 6)
    started = time.monotonic()

    call_command("check_accounts", "--all")

    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert took < 2 * DEADLINE, f"6 silent accounts took {took:.1f}s: they were checked one after another"
    for account, _ in accounts:
        assert f"{account.pk} {account.label}: timeout (deadline passed)" in out
    assert "6/6" in err  # the progress bar, kept
    assert not TelegramAccount.objects.exclude(lease_owner="").exists()


def test_a_silent_dc_trips_the_breaker_and_the_remaining_checks_end_at_once(silent_dc, settings):
    settings.CHECK_CONCURRENCY, settings.CHECK_BREAKER_FAILURES = 3, 3
    accounts = _accounts(silent_dc, 10)
    started = time.monotonic()

    done = _run(accounts)

    took = time.monotonic() - started
    assert took < 2 * DEADLINE, f"took {took:.1f}s: the breaker did not stop the checks after the first deadline"
    assert {d.result.outcome for d in done} == {"dc_down"}
    assert sum(silent_dc.stats(key).connections for _, key in accounts) == 3  # the rest never dialled
    for account in TelegramAccount.objects.all():
        assert (account.status, account.consecutive_failures) == (AccountStatus.UNCERTAIN, 0)
        assert account.last_outcome == "dc_down"
    [alert] = Alert.objects.filter(kind="telegram.dc_down")
    assert alert.state == "firing" and alert.key == silent_dc.address


def test_later_batches_skip_the_open_dc_until_a_probe_reaches_it(silent_dc, settings):
    settings.CHECK_CONCURRENCY, settings.CHECK_BREAKER_FAILURES = 2, 2
    _run(_accounts(silent_dc, 2))
    later = _accounts(silent_dc, 3, behaviour=OK)

    stopped = _run(later)
    probes = endpoints_probe(timeout=2)
    reopened = _run(later)

    assert {d.result.outcome for d in stopped} == {"dc_down"}
    assert [p.reachable for p in probes] == [True]
    assert {d.result.outcome for d in reopened} == {"ok"}
    assert all(silent_dc.stats(key).connections == 1 for _, key in later)
    assert Alert.objects.get(kind="telegram.dc_down").state == "resolved"


def test_a_dc_that_answers_with_errors_never_opens_the_breaker(telegram_dc, settings):
    from tests.mtproto_dc import Behaviour

    settings.CHECK_BREAKER_FAILURES = 2
    accounts = _accounts(telegram_dc, 4, behaviour=Behaviour.error(401, "AUTH_KEY_UNREGISTERED"))

    done = _run(accounts)

    assert {d.result.outcome for d in done} == {"revoked"}
    assert not Alert.objects.filter(kind="telegram.dc_down").exists()
