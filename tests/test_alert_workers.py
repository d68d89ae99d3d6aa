"""Real Celery workers delivering alerts to the loopback Bot API, including one killed mid-send."""

import datetime as dt
import os
import signal
import subprocess
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from alerts.models import Delivery, Notification, Severity
from alerts.services import alert_raise
from alerts.tasks import SWEEP_LOCK, deliver_task
from tests.botapi_server import TOKEN
from tests.processes import BIN, ROOT, celery_worker, clean_env
from tests.services import shared_worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


@pytest.fixture
def worker_env(bot, tmp_path):
    cache.delete(SWEEP_LOCK)  # Redis outlives test runs; a killed worker's lock may still be there
    return clean_env(
        DATA_DIR=str(tmp_path / "worker-data"),
        **shared_worker_env(),
        TELEGRAM_BOT_API_URL=bot.url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_CHAT_ID="-100500",
        ALERT_DIGEST_WINDOW_SECONDS="0",
        ALERT_CLAIM_SECONDS="10",
        ALERT_SEND_TIMEOUT="30",
    )


def _raise(count: int) -> None:
    for i in range(count):
        alert_raise(kind="account.offline", severity=Severity.CRITICAL, key=str(i), summary=f"acc{i}: network")


def _wait(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def test_a_real_worker_delivers_the_outbox(worker_env, bot, tmp_path) -> None:
    _raise(3)

    with celery_worker(worker_env, tmp_path / "worker.log"):
        deliver_task.delay().get(timeout=60)
        _wait(lambda: Notification.objects.filter(state=Delivery.SENT).count() == 3)

    assert len(bot.received) == 1
    assert all(f"acc{i}:" in bot.received[0].text for i in range(3))


def test_a_worker_killed_mid_send_neither_duplicates_nor_loses(worker_env, bot, tmp_path, settings) -> None:
    settings.ALERT_DIGEST_LIST_LIMIT = 2
    _raise(2)
    bot.then("slow:30")  # the first message hangs on the wire
    with open(tmp_path / "victim.log", "w") as log:
        victim = subprocess.Popen(
            [str(BIN / "celery"), "-A", "project", "worker", "--pool", "solo", "-Q", "alerts", "-n", "victim@lo"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            deliver_task.delay()
            _wait(lambda: len(bot.arrived) == 1)  # the request reached "Telegram"
            assert set(Notification.objects.values_list("state", flat=True)) == {Delivery.IN_FLIGHT}
        finally:
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(10)
    _raise(4)  # two more alerts arrive while nobody is delivering
    # Let the clock run past the dead sweep's claim and its lock (ALERT_CLAIM_SECONDS, the lock's expiry).
    Notification.objects.filter(state=Delivery.IN_FLIGHT).update(claimed_at=timezone.now() - dt.timedelta(seconds=30))
    cache.delete(SWEEP_LOCK)

    with celery_worker(worker_env, tmp_path / "rescuer.log"):
        deliver_task.delay().get(timeout=60)

    states = dict(Notification.objects.values_list("alert__key", "state"))
    assert states == {"0": "unconfirmed", "1": "unconfirmed", "2": "sent", "3": "sent"}
    assert len(bot.arrived) == 2  # the killed request once, the rest once: nothing sent twice
    assert "acc2:" in bot.arrived[1].text and "acc0:" not in bot.arrived[1].text


def test_an_alert_raised_while_the_broker_is_down_waits_and_is_delivered(worker_env, bot, tmp_path) -> None:
    import socket

    from tests.processes import manage

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: Redis "down"
        down = {**worker_env, "REDIS_URL": f"redis://127.0.0.1:{closed.getsockname()[1]}/0",
                "ALERT_DELIVERY_KICK": "true"}  # fmt: skip
        code = (
            "from alerts.services import alert_raise; from alerts.models import Severity; "
            "alert_raise(kind='account.offline', severity=Severity.CRITICAL, key='42', summary='acc42: network')"
        )
        started = time.monotonic()
        raised = manage("shell", "-v0", "-c", code, env=down, timeout=60)

    assert raised.returncode == 0, raised.stderr
    assert time.monotonic() - started < 30
    assert "Could not queue alert delivery" in raised.stderr
    assert list(Notification.objects.values_list("state", flat=True)) == [Delivery.PENDING]

    with celery_worker(worker_env, tmp_path / "after.log"):  # the broker is back; the periodic sweep runs
        deliver_task.delay().get(timeout=60)

    assert list(Notification.objects.values_list("state", flat=True)) == [Delivery.SENT]
    assert "acc42" in bot.received[0].text
