"""No secret in any log line: the record factory redacts every logger's records; the suite's canary check."""

import logging

import pytest

from alerts.models import Route
from alerts.services import alert_test_send
from conftest import SYSTEM
from project.redaction import REDACTED, redact, secret_register
from tests import canaries
from tests.session_makers import CANARY_KEY, telethon_string


def _messages(caplog) -> list[str]:
    return [r.getMessage() + (r.exc_text or "") for r in caplog.records]


@pytest.mark.django_db
def test_httpx_logs_the_bot_api_request_without_the_token(bot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    route = Route.objects.create(name="ops", chat_id="-100500")

    assert alert_test_send(actor=SYSTEM, route=route).ok

    requests = [m for m in _messages(caplog) if "HTTP Request: POST" in m]
    assert requests and all(f"/bot{REDACTED}/sendMessage" in m for m in requests)
    assert not any(canaries.BOT_TOKEN in m for m in _messages(caplog))


@pytest.mark.parametrize("name", ["httpx", "celery.worker.strategy", "telethon.network.mtprotosender", "axes", ""])
def test_every_logger_and_level_is_redacted(caplog, name, settings) -> None:
    settings.METRICS_TOKEN = "metrics-token-" + "m" * 30
    caplog.set_level(logging.DEBUG, logger=name or None)
    logger = logging.getLogger(name)

    logger.log(logging.CRITICAL if name == "telethon.network.mtprotosender" else logging.DEBUG,
               "token %s and bearer %s", canaries.BOT_TOKEN, settings.METRICS_TOKEN)  # fmt: skip

    assert _messages(caplog)[-1] == f"token {REDACTED} and bearer {REDACTED}"


def test_exception_text_and_arguments_are_redacted(caplog) -> None:
    caplog.set_level(logging.INFO)
    try:
        raise ValueError(f"could not parse {telethon_string(key=CANARY_KEY)}")
    except ValueError:
        logging.getLogger("accounts").exception("import of %r failed", CANARY_KEY.hex())

    [record] = caplog.records
    assert CANARY_KEY.hex()[:64] not in record.getMessage() + record.exc_text
    assert "ValueError: could not parse [redacted]" in record.exc_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://tgfleet:hunter2-long@db:5432/x", f"postgres://tgfleet:{REDACTED}@db:5432/x"),
        ("socks5://user:pr0xy-pass@10.0.0.1:1080", f"socks5://user:{REDACTED}@10.0.0.1:1080"),
        ("key " + "ab" * 256, f"key {REDACTED}"),
        ("GET /health 200 in 3 ms, request 5f0c9e1d2b3a4c5d6e7f8091a2b3c4d5", None),
    ],
)
def test_shapes_that_are_always_secret_are_redacted_and_ordinary_text_is_not(text, expected) -> None:
    assert redact(text) == (expected or text)


def test_a_secret_registered_at_run_time_is_redacted_wherever_it_appears() -> None:
    secret_register("proxy-password-7731")

    assert redact("connect via user:proxy-password-7731 failed (proxy-password-7731)") == (
        f"connect via user:{REDACTED} failed ({REDACTED})"
    )


def test_the_canary_check_sees_a_record_that_skipped_redaction() -> None:
    catcher = canaries.CanaryCatcher()
    raw = logging.LogRecord("x", logging.DEBUG, __file__, 1, "leaked %s", (canaries.BOT_TOKEN,), None)

    catcher.handle(raw)

    assert catcher.hits == ["bot token in a DEBUG record of logger 'x'"]


@pytest.mark.django_db
def test_an_accounts_api_hash_and_password_are_redacted_once_decrypted(vault, caplog) -> None:
    from accounts.models import TelegramAccount
    from accounts.services import session_import
    from accounts.services.sessions import account_vault_entry
    from accounts.sessions import InputFile

    api_hash, password = "0123456789abcdef0123456789abcdef", "canary-two-step-password"
    sidecar = f'{{"app_id": 4, "app_hash": "{api_hash}", "twoFA": "{password}"}}'.encode()
    files = [InputFile("acc.txt", telethon_string(key=CANARY_KEY).encode()), InputFile("acc.json", sidecar)]
    account = TelegramAccount.objects.get(pk=session_import(actor=SYSTEM, files=files).outcomes[0].account_id)
    caplog.set_level(logging.INFO)

    account_vault_entry(account)
    logging.getLogger("accounts").info("profile %s / %s", api_hash, password)

    assert _messages(caplog)[-1] == f"profile {REDACTED} / {REDACTED}"
