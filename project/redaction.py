"""No secret reaches a log line: every record of every logger is redacted as it is made.

Installed as the logging record factory (not as a handler filter), so it covers third-party loggers
(httpx logs each request URL, and a Bot API URL holds the bot token), Celery's own handlers and any
handler added later, at every level. What is redacted:

- the secrets of this deployment, read from settings at the time of each record (bot token, keys,
  passphrases, the metrics token, passwords inside DATABASE_URL and REDIS_URL);
- secrets registered while the process runs (`secret_register`: an account's api_hash or a proxy
  password once decrypted), matched exactly;
- shapes that are secret whatever their value: bot tokens, a password inside a URL, and long runs of
  hex or base64 (auth keys, session strings).
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import OrderedDict
from urllib.parse import unquote, urlsplit

REDACTED = "[redacted]"
_BOT_TOKEN = re.compile(r"\b[0-9]{5,16}:[A-Za-z0-9_-]{30,64}\b")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]+)(?=@)")
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{128,}\b")
_LONG_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{120,}={0,2}")
_MAX_REGISTERED = 2_000  # the most recently decrypted; each record is searched for every one
_SETTINGS_SECRETS = (
    "SECRET_KEY",
    "AUDIT_HMAC_KEY",
    "AUDIT_CHAIN_KEY",
    "METRICS_TOKEN",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_HASH",
    "SESSION_ENCRYPTION_KEY",
    "SESSION_ENCRYPTION_PASSWORD",
    "ADMIN_PASSWORD",
)

_registered: OrderedDict[str, None] = OrderedDict()
_lock = threading.Lock()
_installed = False


def secret_register(value: str | bytes | None) -> None:
    """A secret this process now holds in memory: from here on it is redacted wherever it appears."""
    if not value:
        return
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    if len(text) < 6:  # too short to tell from ordinary words
        return
    with _lock:
        _registered[text] = None
        _registered.move_to_end(text)
        while len(_registered) > _MAX_REGISTERED:
            _registered.popitem(last=False)


def redact(text: str) -> str:
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BOT_TOKEN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED, text)
    text = _LONG_HEX.sub(REDACTED, text)
    return _LONG_BASE64.sub(REDACTED, text)


def _secrets() -> list[str]:
    from django.conf import settings

    found: list[str] = []
    if settings.configured:
        for name in _SETTINGS_SECRETS:
            value = getattr(settings, name, None)
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, bytes):
                    item = item.decode("utf-8", "replace")
                if isinstance(item, str) and len(item) >= 6:
                    found.append(item)
        for password in (_redis_password(getattr(settings, "REDIS_URL", None)), _database_password(settings)):
            if password:
                found.append(password)
    found.sort(key=len, reverse=True)  # a secret inside a longer one goes with it
    with _lock:
        found.extend(_registered)
    return found


def _database_password(settings) -> str | None:
    password = settings.DATABASES.get("default", {}).get("PASSWORD") if hasattr(settings, "DATABASES") else None
    return password if isinstance(password, str) and len(password) >= 6 else None


def _redis_password(url: str | None) -> str | None:
    if not url:
        return None
    password = urlsplit(url).password
    return unquote(password) if password and len(password) >= 6 else None


def redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to logging's own error path
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def redaction_install() -> None:
    """Make every LogRecord of this process pass through redact_record; safe to call more than once."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    base = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
