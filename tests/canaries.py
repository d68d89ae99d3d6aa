"""Canary secrets planted for the whole suite: one of them in any log record fails the test that logged it.

The plugin sets the settings-borne ones in the environment before Django starts; fixtures plant the rest
(the loopback bot's token, auth keys made from CANARY_KEY). The check also reads the secrets the settings
hold when a record is made (a test's own Fernet keys, tokens, passphrases).
"""

from __future__ import annotations

import base64
import functools
import logging

from tests.botapi_server import TOKEN as BOT_TOKEN
from tests.session_makers import CANARY_KEY

SECRET_KEY = "canary-secret-key-" + "s3cr3t" * 7
AUDIT_CHAIN_KEY = "canary-audit-chain-key-" + "ch41n" * 4
AUDIT_HMAC_KEY = "canary-audit-hmac-key-" + "hm4c" * 4
PROXY_PASSWORD = "canary-proxy-pass-" + "pr0xy" * 3
TWO_STEP_PASSWORD = "canary-two-step-" + "p4ssw0rd" * 2  # an account's two-step password, typed at sign-in
LOGIN_CODE = "73519"  # too short to search logs for; the API answers and the audit trail are searched instead
MTPROXY_SECRET = "dd" + "c4a7a7c4a7a7c4a7" * 2  # 16 bytes after dd, as MTProxy links carry them
ENVIRONMENT = {"SECRET_KEY": SECRET_KEY, "AUDIT_CHAIN_KEY": AUDIT_CHAIN_KEY, "AUDIT_HMAC_KEY": AUDIT_HMAC_KEY}
SETTINGS_SECRETS = ("SECRET_KEY", "AUDIT_CHAIN_KEY", "AUDIT_HMAC_KEY", "METRICS_TOKEN", "TELEGRAM_BOT_TOKEN",
                    "TELEGRAM_API_HASH", "SESSION_ENCRYPTION_KEY", "SESSION_ENCRYPTION_PASSWORD")  # fmt: skip


@functools.cache
def planted() -> dict[str, str]:
    """Each canary by a name that may be printed (the value never is)."""
    return {
        "bot token": BOT_TOKEN,
        "proxy password": PROXY_PASSWORD,
        "mtproxy secret": MTPROXY_SECRET,
        "two-step password": TWO_STEP_PASSWORD,
        "auth key (text)": CANARY_KEY.decode()[:32],
        "auth key (hex)": CANARY_KEY.hex()[:64],
        "auth key (base64)": base64.b64encode(CANARY_KEY).decode()[:64],
        **{name.lower().replace("_", " "): value for name, value in ENVIRONMENT.items()},
    }


def held_by_settings() -> dict[str, str]:
    from django.conf import settings

    found: dict[str, str] = {}
    if not settings.configured:
        return found
    for name in SETTINGS_SECRETS:
        value = getattr(settings, name, None)
        for i, item in enumerate(value if isinstance(value, list | tuple) else [value]):
            if isinstance(item, bytes):
                item = item.decode("utf-8", "replace")
            if isinstance(item, str) and len(item) >= 8:
                found[f"settings.{name}[{i}]"] = item
    return found


class CanaryCatcher(logging.Handler):
    """Sees every record the process makes (root, NOTSET) and notes any that holds a canary, by name."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = "\n".join(filter(None, (record.getMessage(), record.exc_text, record.stack_info)))
        except Exception:
            text = str(record.msg)
        for name, value in {**planted(), **held_by_settings()}.items():
            if value in text:
                self.hits.append(f"{name} in a {record.levelname} record of logger {record.name!r}")
