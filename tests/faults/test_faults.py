"""Fault injection with real services: Redis killed, PostgreSQL stopped, a worker SIGKILLed mid-batch and
mid-import, two beats at once. Each: health reports the fault, tgfleet recovers by itself, no account stays
leased, no import stays unfinished, and the loopback Bot API receives every notification exactly once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest

from tests.faults.services import OwnPostgres, OwnRedis
from tests.faults.stack import Stack, wait_until
from tests.mtproto_dc import Behaviour
from tests.mtproto_dc.server import OK
from tests.session_makers import random_key, telethon_string

pytestmark = [pytest.mark.timeout(420)]
ACCOUNTS = 6
OUTAGE_SECONDS = 30


@pytest.fixture(scope="module")
def services():
    postgres, redis = OwnPostgres(), OwnRedis()
    try:
        postgres.start()
        redis.start()
        yield postgres, redis
    finally:
        redis.destroy()
        postgres.destroy()


@pytest.fixture
def stack(services, tmp_path, telegram_dc, bot, server_rsa_pem):
    postgres, redis = services
    if postgres.port and not _port_open(postgres.port):
        postgres.start()
    if redis.process is None:
        redis.start()
    stack = Stack(tmp_path, postgres, redis, telegram_dc, bot, server_rsa_pem)
    migrated = stack.manage("migrate", "--noinput", "-v0", timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    stack.sql("TRUNCATE accounts_telegramaccount, accounts_job, alerts_notification, alerts_alert CASCADE")
    stack.dc = telegram_dc
    try:
        yield stack
    finally:
        stack.stop_all()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _import_accounts(stack: Stack, count: int, behaviour: Behaviour = OK) -> None:
    folder = stack.root / "sessions"
    folder.mkdir(exist_ok=True)
    for i in range(count):
        key = random_key()
        stack.dc.add_key(key, behaviour)
        (folder / f"acc{i}-{time.monotonic_ns()}.txt").write_text(telethon_string(key=key, address="127.0.0.1"))
    result = stack.manage("import_sessions", str(folder), "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    for path in folder.iterdir():
        path.unlink()


def _raise_alert(stack: Stack, key: str) -> None:
    stack.shell(
        "from alerts.services import alert_raise; from alerts.models import Severity; "
        f"alert_raise(kind='fault.test', severity=Severity.CRITICAL, key='{key}', summary='fault {key}')"
    )


def _received(bot, key: str) -> int:
    return sum(1 for message in bot.received if f"fault {key}" in message.text)


def _all_checked_since(stack: Stack, moment: dt.datetime, seconds: float = 120) -> None:
    wait_until(lambda: stack.checked_since(moment) == stack.accounts(), seconds, "every account checked again")


def _settled(stack: Stack) -> None:
    """Nothing is left half-done: no lease held (after at most a lease's time), no import unfinished."""
    wait_until(lambda: stack.leased() == 0, 60, "every lease released")
    wait_until(lambda: stack.imports_unfinished() == 0, 120, "every import finished")


def _component(report: dict, name: str) -> str:
    return {c["name"]: c["status"] for c in report["components"]}.get(name, "missing")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_redis_killed_for_30_seconds(stack, bot) -> None:
    _import_accounts(stack, ACCOUNTS)
    stack.start_worker()
    stack.start_beat()
    _all_checked_since(stack, _now() - dt.timedelta(hours=1))

    stack.redis.kill()
    during = stack.health()
    _raise_alert(stack, "redis")  # the outbox is in PostgreSQL: it waits for the broker to come back
    time.sleep(OUTAGE_SECONDS)
    stack.redis.start()
    back = _now()

    assert during["status"] != "healthy" and _component(during, "cache") != "healthy"
    _all_checked_since(stack, back)
    wait_until(lambda: _received(bot, "redis") == 1, 90, "the alert raised during the outage")
    wait_until(lambda: stack.health()["status"] == "healthy", 120, "health to recover")
    _settled(stack)
    time.sleep(12)  # another delivery sweep: still exactly once
    assert _received(bot, "redis") == 1


def test_postgresql_stopped_for_30_seconds(stack, bot) -> None:
    _import_accounts(stack, ACCOUNTS)
    stack.start_worker()
    stack.start_beat()
    _all_checked_since(stack, _now() - dt.timedelta(hours=1))
    _raise_alert(stack, "pg-before")
    wait_until(lambda: _received(bot, "pg-before") == 1, 60, "the alert before the outage")

    stack.postgres.stop()
    during = stack.health()
    time.sleep(OUTAGE_SECONDS)
    stack.postgres.start()
    back = _now()
    _raise_alert(stack, "pg-after")

    assert during["status"] == "unhealthy" and _component(during, "database") == "unhealthy"
    _all_checked_since(stack, back)
    wait_until(lambda: _received(bot, "pg-after") == 1, 90, "the alert after the outage")
    wait_until(lambda: stack.health()["status"] == "healthy", 120, "health to recover")
    _settled(stack)
    assert (_received(bot, "pg-before"), _received(bot, "pg-after")) == (1, 1)


def test_a_worker_killed_in_the_middle_of_a_check_batch(stack, bot) -> None:
    _import_accounts(stack, ACCOUNTS, Behaviour("delay", seconds=4))
    stack.start_worker()
    started = _now()
    stack.start_beat()
    wait_until(lambda: stack.leased() > 0, 90, "a batch to hold its leases")
    time.sleep(1)  # the checks are on the wire now

    os.kill(stack.worker_child(), signal.SIGKILL)
    killed = _now()

    _all_checked_since(stack, started, seconds=150)
    _settled(stack)
    # The lost batch was redelivered and checked once: one record per account for that round.
    records = stack.sql("SELECT account_id, count(*) FROM accounts_checkrecord WHERE at >= %s AND at < %s "
                        "GROUP BY account_id", started, killed + dt.timedelta(seconds=25))  # fmt: skip
    assert len(records) == ACCOUNTS and {n for _, n in records} == {1}
    assert "WorkerLostError" in stack.log("worker") or "SIGKILL" in stack.log("worker")


SWEEP_AN_HOUR_ON = """
import datetime as dt
from django.utils import timezone
from accounts.vault.sweep import vault_sweep
print(vault_sweep(now=timezone.now() + dt.timedelta(minutes=61)).removed)
"""
QUEUE_IMPORT = """
from django.contrib.auth import get_user_model
from django.db import transaction
from accounts.services.imports import import_job_create
from accounts.sessions import InputFile
from tests.session_makers import random_key, telethon_string
User = get_user_model()
user = User.objects.filter(username="fault-admin").first() or User.objects.create_superuser(
    "fault-admin", password="correct-horse-battery-9")
files = [InputFile(f"f{{i}}.txt", telethon_string(key=random_key()).encode()) for i in range({files})]
with transaction.atomic():
    job = import_job_create(actor=user, files=files)
print(job.pk)
"""


def test_a_worker_killed_in_the_middle_of_an_import(stack, bot) -> None:
    stack.start_worker()
    # Twelve chunks of 500: seconds of work after the first chunk's progress lands, even on a fast machine (with
    # 1,500 files the import could finish between that and the kill, and nothing was left to resume).
    files = 6000
    job_id = stack.shell(QUEUE_IMPORT.format(files=files)).strip().splitlines()[-1]
    wait_until(lambda: stack.scalar("SELECT processed FROM accounts_job WHERE id = %s", job_id) > 20, 60,
               "the import to be under way")  # fmt: skip

    os.kill(stack.worker_child(), signal.SIGKILL)
    assert stack.scalar("SELECT state FROM accounts_job WHERE id = %s", job_id) != "done", "killed too late"

    wait_until(lambda: stack.scalar("SELECT state FROM accounts_job WHERE id = %s", job_id) == "done", 180,
               "the import to finish after its worker was lost")  # fmt: skip
    _settled(stack)
    [(results,)] = stack.sql("SELECT results FROM accounts_job WHERE id = %s", job_id)
    assert len(results) == files and {r["result"] for r in results} == {"imported"}
    assert stack.accounts() == files
    assert f"Import {job_id} resumed after its worker was lost" in stack.log("worker")
    # The kill can land between a chunk's files and its commit: those sealed files name no account. The hourly
    # vault sweep takes them once they are an hour old (the clock moved on for it); every account's file stays.
    vault = stack.root / "data" / "sessions"
    left = len(list(vault.glob("*.tgs"))) - files
    assert left >= 0
    left += len(list(vault.glob(".tmp-*")))  # a write the kill cut short
    swept = stack.shell(SWEEP_AN_HOUR_ON).strip().splitlines()[-1]
    assert swept == str(left) and len(list(vault.glob("*.tgs"))) == files and not list(vault.glob(".tmp-*"))


def test_two_beats_at_once_check_each_account_once_per_round_and_send_each_alert_once(stack, bot) -> None:
    _import_accounts(stack, ACCOUNTS)
    stack.start_worker()
    started = _now()
    stack.start_beat("beat-a")
    stack.start_beat("beat-b")
    _all_checked_since(stack, started)
    _raise_alert(stack, "two-beats")

    time.sleep(70)  # two more check rounds and several delivery sweeps, from both beats

    rounds = stack.sql("SELECT account_id, count(*) FROM accounts_checkrecord WHERE at >= %s GROUP BY account_id",
                       started)  # fmt: skip
    assert len(rounds) == ACCOUNTS
    assert max(n for _, n in rounds) <= 4  # 70 s at a 30 s interval: 3 rounds, 4 at the edges; never doubled
    assert _received(bot, "two-beats") == 1
    _settled(stack)
