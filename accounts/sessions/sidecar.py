"""The JSON file that many account tools put beside a `.session` (app_id, app_hash, device, twoFA ...)."""

from __future__ import annotations

import json
import re

from accounts.sessions.record import MAX_API_ID, MAX_USER_ID, AccountProfile, SessionFormatError

_DEVICE_FIELDS = ("device", "sdk", "app_version", "lang_pack", "system_lang_pack", "lang_code", "system_lang_code")
_API_HASH = re.compile(r"^[0-9a-f]{32}$")
_PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")  # Telegram's usernames: at most 32 of these
MAX_PASSWORD_CHARS = 1024


def sidecar_parse(data: bytes) -> AccountProfile:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise SessionFormatError(f"JSON sidecar is not valid JSON{where}") from None
    if not isinstance(doc, dict):
        raise SessionFormatError("JSON sidecar must be an object")
    api_id = _optional_int(doc, "app_id", "api_id", maximum=MAX_API_ID)
    api_hash = _optional_str(doc, "app_hash", "api_hash")
    if api_hash is not None and not _API_HASH.match(api_hash):
        raise SessionFormatError("JSON sidecar's app_hash must be 32 hexadecimal characters")
    phone = _optional_str(doc, "phone")
    if phone is not None:
        phone = phone.replace(" ", "")
        if not _PHONE.match(phone):
            raise SessionFormatError("JSON sidecar's phone is not a phone number")
        phone = phone if phone.startswith("+") else "+" + phone
    two_fa = doc.get("twoFA", doc.get("password"))
    if two_fa is not None and not isinstance(two_fa, str):
        raise SessionFormatError("JSON sidecar's twoFA must be text")
    if two_fa is not None and len(two_fa) > MAX_PASSWORD_CHARS:
        raise SessionFormatError(f"JSON sidecar's twoFA is over {MAX_PASSWORD_CHARS} characters")
    username = _optional_str(doc, "username")
    if username is not None:
        username = username.removeprefix("@")
        if not _USERNAME.match(username):
            raise SessionFormatError("JSON sidecar's username is not a Telegram username (1-32 letters, digits, _)")
    device = {}
    for name in _DEVICE_FIELDS:
        value = doc.get(name)
        if value is not None:
            if not isinstance(value, str | int):
                raise SessionFormatError(f"JSON sidecar's {name} must be text")
            device[name] = str(value)[:200]
    return AccountProfile(
        api_id=api_id,
        api_hash=api_hash,
        phone=phone,
        user_id=_optional_int(doc, "id", "user_id", maximum=MAX_USER_ID),
        username=username,
        two_fa=two_fa or None,
        device=device,
    )


def _optional_int(doc: dict, *names: str, maximum: int) -> int | None:
    for name in names:
        value = doc.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise SessionFormatError(f"JSON sidecar's {name} must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise SessionFormatError(f"JSON sidecar's {name} must be a whole number") from None
        if not 0 < number <= maximum:
            raise SessionFormatError(f"JSON sidecar's {name} is out of range (1-{maximum})")
        return number
    return None


def _optional_str(doc: dict, *names: str) -> str | None:
    for name in names:
        value = doc.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise SessionFormatError(f"JSON sidecar's {name} must be text")
        return str(value).strip()
    return None
