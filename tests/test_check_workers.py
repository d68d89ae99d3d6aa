"""Real Celery workers on Redis and PostgreSQL checking accounts against the loopback DC."""

import os
import time

import pytest
import redis
from django.utils import timezone

from accounts.models import TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tasks import checks_batch_task, checks_dispatch_task
from conftest import SYSTEM
from tests import session_makers as make
from tests.mtproto_dc import Behaviour
from tests.processes import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture
def worker_env(check_worker_env):
    return check_worker_env


def _accounts(dc, count: int, revoked: int = 0) -> list[bytes]:
    keys = [make.random_key() for _ in range(count)]
    for i, key in enumerate(keys):
        dc.add_key(key, Behaviour.error(401, "AUTH_KEY_UNREGISTERED") if i < revoked else Behaviour())
    files = [
        InputFile(f"a{i}.txt", make.telethon_string(key=k, address="127.0.0.1").encode()) for i, k in enumerate(keys)
    ]
    session_import(actor=SYSTEM, files=files)
    return keys


def _results_stored() -> set[str]:
    """The ids of the task results in this run's Redis (its own key prefix)."""
    prefix = f"{os.environ['REDIS_KEY_PREFIX']}celery-task-meta-"
    with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
        return {key.decode()[len(prefix) :] for key in client.scan_iter(match=f"{prefix}*", count=1000)}


def _wait_all_checked(count: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while TelegramAccount.objects.filter(last_checked_at__isnull=False).count() < count:
        assert time.monotonic() < deadline, "workers did not check every account in time"
        time.sleep(0.2)


def test_the_beat_job_fans_out_to_a_worker_that_checks_every_account(worker_env, telegram_dc, tmp_path) -> None:
    _accounts(telegram_dc, 20, revoked=3)
    stored_before = _results_stored()

    with celery_worker(worker_env, tmp_path / "worker.log"):
        dispatched = checks_dispatch_task.delay()
        queued = dispatched.get(timeout=60)
        _wait_all_checked(20)

    assert queued == 20
    # The worker has stopped (warm: its batch ended and stored whatever it stores): the beat job's own result is
    # there, and no batch's (nobody waits for one; each account's row is its result).
    assert _results_stored() - stored_before == {dispatched.id}
    statuses = sorted(TelegramAccount.objects.values_list("status", flat=True))
    assert statuses == ["ok"] * 17 + ["unauthorized"] * 3


def test_two_workers_racing_for_the_same_accounts_check_each_once(worker_env, telegram_dc, tmp_path) -> None:
    keys = _accounts(telegram_dc, 30)
    ids = list(TelegramAccount.objects.values_list("pk", flat=True))
    sent_at = timezone.now().isoformat()

    with celery_worker(worker_env, tmp_path / "w1.log"), celery_worker(worker_env, tmp_path / "w2.log"):
        first, second = checks_batch_task.delay(ids, sent_at), checks_batch_task.delay(ids, sent_at)
        results = [first.get(timeout=90), second.get(timeout=90)]

    assert sum(r["checked"] for r in results) == 30
    for key in keys:
        stats = telegram_dc.stats(key)
        assert (stats.requests["GetUsersRequest"], stats.max_active) == (1, 1)


def test_check_now_through_the_api_answers_with_the_worker_s_result(worker_env, telegram_dc, tmp_path,
                                                                     operator, blue_team) -> None:  # fmt: skip
    from rest_framework.test import APIClient

    from accounts.models import Job

    key = make.random_key()
    telegram_dc.add_key(key, Behaviour.error(401, "AUTH_KEY_UNREGISTERED"))
    files = [InputFile("one.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    account_id = session_import(actor=SYSTEM, files=files, team=blue_team).outcomes[0].account_id
    client = APIClient()
    client.force_authenticate(operator)

    with celery_worker(worker_env, tmp_path / "worker.log"):
        started = time.monotonic()
        response = client.post(f"/api/v1/accounts/{account_id}/check")
        waited = time.monotonic() - started

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["outcome"], body["status"], body["previous_status"]) == ("revoked", "unauthorized", "unchecked")
    assert waited < 10 and Job.objects.get(pk=body["job"]).state == "done"
    assert telegram_dc.stats(key).requests["GetUsersRequest"] == 1


def _worker_backends() -> set[int]:
    """The database connections other than this test's own (the worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")  # fmt: skip
        return {pid for (pid,) in cursor.fetchall()}


def test_a_worker_keeps_its_database_connection_between_tasks_and_replaces_one_the_server_dropped(
    worker_env, telegram_dc, tmp_path
) -> None:
    """Celery on its own closes every connection around every task (a new PostgreSQL backend per check batch); ours
    are kept as Django keeps them between requests, and one the server ended is replaced before the next task uses
    it, so that task still succeeds."""
    from django.db import connection

    _accounts(telegram_dc, 3)
    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True))
    seen, results = [], []
    with celery_worker(worker_env, tmp_path / "worker.log"):
        for i, pk in enumerate(ids):
            if i == 2:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(seen[-1])])
                time.sleep(0.5)  # the server ends it
            results.append(checks_batch_task.delay([pk], timezone.now().isoformat()).get(timeout=60))
            time.sleep(1)  # the worker's after-task hooks have run
            seen.append(_worker_backends())

    assert results == [{"claimed": 1, "checked": 1}] * 3
    assert len(seen[0]) == 1 and seen[1] == seen[0]  # kept across tasks
    assert len(seen[2]) == 1 and seen[2] != seen[1]  # the dropped one replaced, and its task went through
    assert TelegramAccount.objects.filter(status="ok").count() == 3
