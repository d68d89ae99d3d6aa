"""Real Celery workers on Redis and PostgreSQL checking accounts against the loopback DC."""

import time

import pytest
from django.utils import timezone

from accounts.models import TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tasks import checks_batch_task, checks_dispatch_task
from conftest import SYSTEM
from tests import session_makers as make
from tests.mtproto_dc import Behaviour
from tests.processes import celery_worker, clean_env
from tests.services import shared_worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture
def worker_env(vault, telegram_dc, settings, tmp_path, server_rsa_pem):
    pem = tmp_path / "server.pem"
    pem.write_text(server_rsa_pem)
    return clean_env(
        DATA_DIR=str(tmp_path / "worker-data"),
        **shared_worker_env(),
        SESSION_STORE_DIR=str(vault),
        SESSION_ENCRYPTION_KEY=settings.SESSION_ENCRYPTION_KEY[0],
        TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{telegram_dc.port}",
        TELEGRAM_SERVER_RSA_KEY_FILE=str(pem),
        TELEGRAM_API_ID="12345",
        TELEGRAM_CHECK_TIMEOUT="5",
    )


def _accounts(dc, count: int, revoked: int = 0) -> list[bytes]:
    keys = [make.random_key() for _ in range(count)]
    for i, key in enumerate(keys):
        dc.add_key(key, Behaviour.error(401, "AUTH_KEY_UNREGISTERED") if i < revoked else Behaviour())
    files = [
        InputFile(f"a{i}.txt", make.telethon_string(key=k, address="127.0.0.1").encode()) for i, k in enumerate(keys)
    ]
    session_import(actor=SYSTEM, files=files)
    return keys


def _wait_all_checked(count: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while TelegramAccount.objects.filter(last_checked_at__isnull=False).count() < count:
        assert time.monotonic() < deadline, "workers did not check every account in time"
        time.sleep(0.2)


def test_the_beat_job_fans_out_to_a_worker_that_checks_every_account(worker_env, telegram_dc, tmp_path) -> None:
    _accounts(telegram_dc, 20, revoked=3)

    with celery_worker(worker_env, tmp_path / "worker.log"):
        queued = checks_dispatch_task.delay().get(timeout=60)
        _wait_all_checked(20)

    assert queued == 20
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
