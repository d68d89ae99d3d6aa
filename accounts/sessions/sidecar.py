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
        proxy=_proxy(doc.get("proxy")),
        api_id=api_id,
        api_hash=api_hash,
        phone=phone,
        user_id=_optional_int(doc, "id", "user_id", maximum=MAX_USER_ID),
        username=username,
        two_fa=two_fa or None,
        device=device,
    )


def _proxy(value):
    """The proxy a sidecar names, as tools write it: a URL or link, [type, host, port, rdns, user, pass] (Telethon's
    tuple), or {"proxy_type"/"type", "addr"/"host", "port", "username", "password"}."""
    from accounts.telegram.proxy_url import ProxySpec, ProxyUrlError, proxy_url_parse

    if value is None or value == "" or value == []:
        return None
    try:
        if isinstance(value, str):
            return proxy_url_parse(value)
        if isinstance(value, list) and 3 <= len(value) <= 6:
            kind, host, port, *rest = value
            user, password = [*rest[1:], "", ""][:2]
            value = {"type": kind, "host": host, "port": port, "username": user, "password": password}
        if isinstance(value, dict):
            kind = str(value.get("proxy_type", value.get("type", ""))).lower()
            kind = {"2": "socks5", "3": "http"}.get(kind, kind)  # PySocks' numbers, as some tools store them
            port = value.get("port")
            if kind not in ("socks5", "http") or isinstance(port, bool) or not isinstance(port, int | str):
                raise ProxyUrlError("type must be socks5 or http, with a host and a port")
            spec = proxy_url_parse(f"{kind}://{value.get('addr', value.get('host', ''))}:{port}")
            user, password = value.get("username") or "", value.get("password") or ""
            if not isinstance(user, str) or not isinstance(password, str):
                raise ProxyUrlError("username and password must be text")
            return ProxySpec(spec.kind, spec.host, spec.port, user[:255], password[:1024])
        raise ProxyUrlError("give a URL, a [type, host, port, rdns, user, pass] list or an object")
    except ProxyUrlError as exc:
        raise SessionFormatError(f"JSON sidecar's proxy: {exc}") from None


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
