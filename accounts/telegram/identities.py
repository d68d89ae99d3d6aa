"""Real app identities for sessions that came without one.

A session that suddenly speaks as "tgfleet on Linux" with a made-up app id looks like a script, and Telegram has
logged accounts out of every device for less. A session with no app id and no device of its own gets one of the
official apps' public identities below (or, with TELEGRAM_APP_CREDENTIALS, one of the operator's own apps
with such a device's strings) (with device strings those apps send), chosen by its auth key so the
same session always gets the same one, and pinned on the account from then on. One that came with its own app
id keeps it; only missing device strings are filled, from the same app when the table knows it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings

from accounts.sessions import SessionRecord


@dataclass(frozen=True)
class AppIdentity:
    name: str
    api_id: int
    api_hash: str
    device: str
    sdk: str
    app_version: str
    lang_code: str = "en"
    system_lang_code: str = "en-US"

    def device_fields(self) -> dict[str, str]:
        return {"identity": self.name, "device": self.device, "sdk": self.sdk, "app_version": self.app_version,
                "lang_code": self.lang_code, "system_lang_code": self.system_lang_code}  # fmt: skip


# The official clients' public app ids (they ship in each app's source), with device strings those apps send.
IDENTITIES = (
    AppIdentity("desktop-windows", 2040, "b18441a1ff607e10a989891a5462e627", "Desktop", "Windows 10", "5.8.3 x64"),
    AppIdentity("desktop-macos", 2040, "b18441a1ff607e10a989891a5462e627", "MacBook Pro", "macOS 14.5", "5.8.3"),
    AppIdentity("android", 6, "eb06d4abfb49dc3eeb1aeb98ae0f581e", "Samsung Galaxy S23", "SDK 34", "11.2.3 (5335)"),
    AppIdentity("android-pixel", 6, "eb06d4abfb49dc3eeb1aeb98ae0f581e", "Google Pixel 8", "SDK 34", "11.2.3 (5335)"),
    AppIdentity("ios", 10840, "33c45224029d59cb3ad0c16134215aeb", "iPhone 15 Pro", "iOS 17.6.1", "11.2 (29385)"),
)
BY_API_ID = {identity.api_id: identity for identity in IDENTITIES}


def identity_for(account, record: SessionRecord, *, has_hash: bool) -> AppIdentity | None:
    """Pin an identity on this (new, unsaved) account if it has none of its own; returns the one pinned, if any
    (its api_hash then goes into the vault with the session, unless the session brought its own)."""
    if account.device and account.api_id:
        return None
    if account.api_id:
        known = BY_API_ID.get(account.api_id)
        if known is not None:
            account.device = {**known.device_fields(), **account.device}
        return None  # its own app: never swapped for another
    identity = IDENTITIES[int(record.auth_key_sha256[:8], 16) % len(IDENTITIES)]
    pool = settings.TELEGRAM_APP_CREDENTIALS
    if pool:  # the operator's own apps, spread by auth key, with a real device's strings
        api_id, api_hash = pool[int(record.auth_key_sha256[8:16], 16) % len(pool)]
        identity = replace(identity, name=f"own-app-{api_id}", api_id=api_id, api_hash=api_hash)
    account.api_id = identity.api_id
    account.device = {**identity.device_fields(), **account.device}
    return None if has_hash else identity


def identity_for_login(seed: str) -> AppIdentity:
    """The app and device a new sign-in speaks as (and the account keeps): by the same rule as imports, one of
    the official apps' identities, or with TELEGRAM_APP_CREDENTIALS one of the operator's apps with such a
    device's strings, chosen by ``seed`` (the phone's HMAC) so the same number always gets the same one."""
    identity = IDENTITIES[int(seed[-8:], 16) % len(IDENTITIES)]
    pool = settings.TELEGRAM_APP_CREDENTIALS
    if pool:
        api_id, api_hash = pool[int(seed[-16:-8], 16) % len(pool)]
        identity = replace(identity, name=f"own-app-{api_id}", api_id=api_id, api_hash=api_hash)
    return identity
