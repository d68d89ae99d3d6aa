"""Health checks against real services, working and broken; the endpoints; the watch job's alerts."""

import json
import os
import socket

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import token_create
from alerts.models import Alert
from conftest import SYSTEM
from health.checks.builtin import AccountsCheck, EncryptionCheck, SessionStoreCheck, TelegramCheck
from health.runner import health_report
from health.tasks import health_watch
from tests import session_makers as make  # imports Pyrogram, which wants an event loop at import
from tests.processes import celery_worker, clean_env, manage

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
CANARY = "canary-db-password-77"


def _closed_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    return sock


@pytest.fixture
def loopback_telegram(settings, server_rsa_pem, telegram_dc):
    """Health's Telegram check dials the loopback DC, never the internet."""
    return telegram_dc


@pytest.fixture
def site(tmp_path, server_rsa_pem, telegram_dc):
    pem = tmp_path / "server.pem"
    pem.write_text(server_rsa_pem)
    env = clean_env(DATA_DIR=str(tmp_path / "site"), TELEGRAM_SERVER_ADDRESS=f"127.0.0.1:{telegram_dc.port}",
                    TELEGRAM_SERVER_RSA_KEY_FILE=str(pem))  # fmt: skip
    assert manage("migrate", "--noinput", "-v0", env=env, timeout=120).returncode == 0
    return env


def _health_json(env: dict) -> tuple[int, dict]:
    result = manage("health", "--json", env=env, timeout=60)
    return result.returncode, json.loads(result.stdout)


def _component(doc: dict, name: str) -> dict:
    return next(c for c in doc["components"] if c["name"] == name)


def test_with_a_live_worker_everything_critical_is_healthy(site, tmp_path) -> None:
    with celery_worker(site, tmp_path / "worker.log"):
        code, doc = _health_json(site)

    # Worth a look: the generated vault key, and no bot token (alerts wait in the outbox).
    assert code == 0 and doc["status"] == "degraded"
    assert {c["name"]: c["status"] for c in doc["components"]} == {
        "database": "healthy", "cache": "healthy", "workers": "healthy", "telegram": "healthy",
        "session_store": "healthy", "encryption": "degraded", "accounts": "healthy", "alert_delivery": "degraded",
    }  # fmt: skip
    assert "TELEGRAM_BOT_TOKEN is not set" in _component(doc, "alert_delivery")["message"]
    assert "1 worker(s) answered" in _component(doc, "workers")["message"]


def test_no_worker_makes_tgfleet_unhealthy(site) -> None:
    code, doc = _health_json(site)

    assert code == 1 and doc["status"] == "unhealthy"
    assert _component(doc, "workers")["message"] == "the broker answers but no worker replied to ping"


def test_a_stopped_database_is_unhealthy_and_its_password_stays_secret(site) -> None:
    with _closed_port() as closed:
        env = {**site, "DATABASE_URL": f"postgres://tgfleet:{CANARY}@127.0.0.1:{closed.getsockname()[1]}/tgfleet"}
        result = manage("health", "--json", env=env, timeout=60)

    doc = json.loads(result.stdout)
    assert result.returncode == 1 and _component(doc, "database")["status"] == "unhealthy"
    assert CANARY not in result.stdout + result.stderr


def test_an_unreachable_redis_degrades_the_cache_and_stops_the_workers(site) -> None:
    with _closed_port() as closed:
        code, doc = _health_json({**site, "REDIS_URL": f"redis://127.0.0.1:{closed.getsockname()[1]}/0"})

    assert code == 1
    assert _component(doc, "cache")["status"] == "degraded"  # only a cache: not critical
    assert _component(doc, "workers")["status"] == "unhealthy"


def test_the_telegram_check_uses_the_network_monitor_or_dials_itself(vault, loopback_telegram, settings) -> None:
    from accounts.services import session_import
    from accounts.sessions import InputFile
    from accounts.telegram.monitor import endpoints_probe

    nothing = TelegramCheck().run()  # no accounts: nothing to reach, nothing dialled
    session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())])
    direct = TelegramCheck().run()
    endpoints_probe(timeout=2)
    monitored = TelegramCheck().run()
    with _closed_port() as closed:
        settings.TELEGRAM_SERVER_ADDRESS = ("127.0.0.1", closed.getsockname()[1])
        from accounts.models import EndpointProbe

        EndpointProbe.objects.all().delete()
        with pytest.raises(ConnectionRefusedError):
            TelegramCheck().run()

    assert (nothing.ok, nothing.message) == (True, "no accounts yet: nothing to reach")
    assert direct.ok and "accepts connections" in direct.message
    assert monitored.ok and monitored.message == "1 of 1 endpoints reachable (network monitor)"


def test_the_session_store_check(settings, tmp_path) -> None:
    store = tmp_path / "store"
    settings.STORAGES = {
        **settings.STORAGES,
        "sessions": {**settings.STORAGES["sessions"], "OPTIONS": {"location": store}},
    }
    assert SessionStoreCheck().run().ok
    os.chmod(store, 0o755)  # noqa: S103 - loosened on purpose: the check must notice
    loose = SessionStoreCheck().run()
    (tmp_path / "file").write_text("x")
    settings.STORAGES = {
        **settings.STORAGES,
        "sessions": {**settings.STORAGES["sessions"], "OPTIONS": {"location": tmp_path / "file"}},
    }

    assert loose.ok and loose.warn and "looser than 0700" in loose.message
    with pytest.raises(FileExistsError):
        SessionStoreCheck().run()


def test_the_encryption_check(vault, settings) -> None:
    assert EncryptionCheck().run().message == "on, 1 key(s) from keys"
    settings.SESSION_ENCRYPTION_ENABLED = False
    assert not EncryptionCheck().run().ok


def test_the_accounts_check_sees_stale_checks(vault, telegram_dc) -> None:
    from accounts.models import TelegramAccount
    from accounts.services import account_check, session_import
    from accounts.sessions import InputFile

    key = make.random_key()
    telegram_dc.add_key(key)
    nothing = AccountsCheck().run()
    session_import(
        actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    )
    waiting = AccountsCheck().run()
    TelegramAccount.objects.update(created_at=timezone.now() - timezone.timedelta(days=1))
    never = AccountsCheck().run()
    account_check(actor=SYSTEM, account=TelegramAccount.objects.get())
    fresh = AccountsCheck().run()
    TelegramAccount.objects.update(last_checked_at=timezone.now() - timezone.timedelta(days=2))
    stale = AccountsCheck().run()

    assert (
        (nothing.ok, nothing.message) == (True, "no accounts yet")
        and waiting.ok
        and waiting.message == "1 account(s) waiting for their first check"
    )
    assert not never.ok and "beat or the workers are stuck" in never.message
    assert fresh.ok and fresh.message == "1 of 1 accounts ok (100%)"
    assert not stale.ok


def test_the_endpoints(db, client, superuser, loopback_telegram, settings) -> None:
    settings.HEALTH_CACHE_SECONDS = 30
    quick = client.get("/health")
    again = client.get("/health")
    anonymous_detail = client.get("/health?detailed=true")
    _row, token = token_create(actor=SYSTEM, user=superuser)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    detailed = api.get("/health?detailed=true")
    page_anonymous = client.get("/health/status")
    client.force_login(superuser)
    page = client.get("/health/status")

    assert quick.status_code == 503 and quick.json()["status"] == "unhealthy"  # no worker in this test
    assert again.json()["checked_at"] == quick.json()["checked_at"]  # served from the cache
    assert "components" not in quick.json() and anonymous_detail.status_code == 401
    assert {c["name"] for c in detailed.json()["components"]} >= {"database", "workers", "session_store"}
    assert client.get("/health/live").json() == {"status": "alive"}
    assert client.get("/health/ready").status_code == 200
    assert page_anonymous.status_code == 302 and page.status_code == 503 and b"session_store" in page.content


def test_the_health_command_exits_1_when_unhealthy(db, loopback_telegram, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("health")

    assert exited.value.code == 1 and "tgfleet is unhealthy" in capsys.readouterr().out


def test_the_watch_job_raises_alerts_for_failing_components_and_resolves_them(
    db, bot, loopback_telegram, tmp_path
) -> None:
    health_watch.apply()
    raised = Alert.objects.get(kind="health.component", key="workers")
    env = clean_env(
        DATA_DIR=os.environ["DATA_DIR"],
        **({"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}),
    )
    with celery_worker(env, tmp_path / "worker.log"):
        health_watch.apply()

    assert raised.state == "firing" and "no worker replied" in raised.summary
    assert Alert.objects.get(kind="health.component", key="workers").state == "resolved"
    assert health_report(use_cache=False).components
