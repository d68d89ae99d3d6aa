"""Reading settings from the environment, failing loudly on malformed values.

Every helper names the variable in its error. Secrets may also be given as
``NAME_FILE`` pointing at a file that holds the value (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The variable's value, or the content of NAME_FILE; None when neither is set."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value not in (None, "") and file_name:
        raise ImproperlyConfigured(f"{name} and {name}_FILE are both set; set only one")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE points at {file_name!r}, which cannot be read ({exc.strerror})"
            ) from None
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(f"{name} is a comma-separated list and must not hold empty items")
    return items


def env_app_credentials(name: str) -> list[tuple[int, str]]:
    """A pool of one's own Telegram apps: "API_ID:API_HASH,API_ID:API_HASH" (a secret: NAME_FILE works too)."""
    value = _raw(name)
    if value is None:
        return []
    pool = []
    for number, item in enumerate(value.split(","), start=1):
        api_id, _, api_hash = item.strip().partition(":")
        if not (api_id.isascii() and api_id.isdigit() and 0 < int(api_id) < 2**31) or not (
            len(api_hash) == 32 and all(c in "0123456789abcdef" for c in api_hash)
        ):
            raise ImproperlyConfigured(f"{name}: item {number} is not API_ID:API_HASH (a number, 32 lowercase hex)")
        pool.append((int(api_id), api_hash))
    return pool


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of ``schemes`` and which names a host; None when unset."""
    value = _raw(name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ImproperlyConfigured(f"{name} is not a valid URL") from None
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}; got {parts.scheme or 'no'} scheme"
        )
    if not parts.hostname and parts.scheme not in ("sqlite", "unix"):
        raise ImproperlyConfigured(f"{name} must name a host")
    return value


def env_path(name: str, default: Path) -> Path:
    value = _raw(name)
    return default if value is None else Path(value).expanduser().resolve()


def env_fernet_keys(name: str) -> list[str]:
    """Comma-separated Fernet keys, newest first; each must be 32 url-safe base64-encoded bytes."""
    value = _raw(name)
    if value is None:
        return []
    keys = [key.strip() for key in value.split(",")]
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name}: key {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with manage.py generate_encryption_key)"
            )
    return keys


def env_base64(name: str, *, min_bytes: int) -> str | None:
    value = _raw(name)
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured(f"{name} must be base64") from None
    if len(raw) < min_bytes:
        raise ImproperlyConfigured(f"{name} must decode to at least {min_bytes} bytes")
    return value


def env_host_port(name: str) -> tuple[str, int] | None:
    value = _raw(name)
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"{name} must be host:port, e.g. 149.154.167.51:443; got {value!r}")
    return host, int(port)


def env_pem_public_key(name: str) -> str | None:
    """A readable file holding an RSA public key in PEM; returns its text."""
    path = _raw(name)
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise ImproperlyConfigured(f"{name} points at {path!r}, which cannot be read as a PEM file") from None
    if "BEGIN RSA PUBLIC KEY" not in text and "BEGIN PUBLIC KEY" not in text:
        raise ImproperlyConfigured(f"{name}: {path!r} holds no PEM public key")
    return text
