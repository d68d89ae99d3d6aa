"""Where a check connects and as which app, from settings at call time."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from telethon.crypto import rsa as telethon_rsa

from accounts.sessions import SessionRecord
from accounts.sessions.record import DEFAULT_PORT, PRODUCTION_DCS, TEST_DCS, dc_address


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    dc_id: int


@dataclass(frozen=True)
class ClientProfile:
    api_id: int
    device_model: str = "tgfleet"
    system_version: str = "Linux"
    app_version: str = "1.0"
    lang_code: str = "en"
    system_lang_code: str = "en"


def endpoint_for(record: SessionRecord) -> Endpoint:
    return endpoint_for_dc(record.dc_id, test_server=record.test_server)


def endpoint_for_dc(dc_id: int, *, test_server: bool = False) -> Endpoint:
    if settings.TELEGRAM_SERVER_ADDRESS:
        _trust_server_key(settings.TELEGRAM_SERVER_RSA_KEY)
        host, port = settings.TELEGRAM_SERVER_ADDRESS
        return Endpoint(host, port, dc_id)
    # Never the file's own address: only a DC in Telegram's table (or the configured server) is dialled.
    host = dc_address(dc_id, test_server=settings.TELEGRAM_TEST_SERVERS or test_server)
    return Endpoint(host, DEFAULT_PORT, dc_id)


def endpoints_configured() -> list[Endpoint]:
    """Every endpoint checks may use: for reachability monitoring."""
    if settings.TELEGRAM_SERVER_ADDRESS:
        host, port = settings.TELEGRAM_SERVER_ADDRESS
        return [Endpoint(host, port, 0)]
    table = TEST_DCS if settings.TELEGRAM_TEST_SERVERS else PRODUCTION_DCS
    return [Endpoint(host, DEFAULT_PORT, dc) for dc, host in sorted(table.items())]


def profile_for(record: SessionRecord, device: dict[str, str], api_id: int | None = None) -> ClientProfile:
    """As the account's own app and device (pinned at import), never a global default when it has its own."""
    api_id = api_id or record.api_id or settings.TELEGRAM_API_ID
    if not api_id:
        raise ImproperlyConfigured("no API id for this account: set TELEGRAM_API_ID or import its JSON sidecar")
    return ClientProfile(
        api_id=api_id,
        device_model=device.get("device", "tgfleet"),
        system_version=device.get("sdk", "Linux"),
        app_version=device.get("app_version", "1.0"),
        lang_code=device.get("lang_code", "en"),
        system_lang_code=device.get("system_lang_code", device.get("system_lang_pack", "en")),
    )


@functools.lru_cache(maxsize=4)
def _trust_server_key(pem: str) -> None:
    """Telethon needs the server's key only to make new auth keys; register it all the same."""
    try:
        key = (
            rsa.PublicKey.load_pkcs1(pem.encode())
            if "RSA PUBLIC" in pem
            else rsa.PublicKey.load_pkcs1_openssl_pem(pem.encode())
        )
    except Exception:
        raise ImproperlyConfigured("TELEGRAM_SERVER_RSA_KEY_FILE holds no usable RSA public key") from None
    telethon_rsa.add_key(key.save_pkcs1(), old=False)
