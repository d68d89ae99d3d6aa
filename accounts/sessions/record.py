"""The one in-memory form of a session, whatever format it came from."""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import ipaddress
from dataclasses import dataclass, field

AUTH_KEY_LENGTH = 256

# Telegram's data centres, as Telethon and Pyrogram ship them; a session that
# carries only a DC id (Pyrogram) gets its address from here.
PRODUCTION_DCS = {
    1: "149.154.175.53",
    2: "149.154.167.51",
    3: "149.154.175.100",
    4: "149.154.167.91",
    5: "91.108.56.130",
}
TEST_DCS = {1: "149.154.175.10", 2: "149.154.167.40", 3: "149.154.175.117"}
DEFAULT_PORT = 443
MAX_API_ID = 2**31 - 1  # TL's int: InitConnection's api_id
MAX_USER_ID = 2**53 - 1  # Telegram's ids fit in 53 bits (its clients keep them in doubles)
MAX_ADDRESS_LENGTH = 64  # an IP address as text, with room for an IPv6 zone; longer input is not one


class SessionFormatError(ValueError):
    """Input that is not a usable session. The message names the problem, never a secret."""


class SessionFormat(enum.StrEnum):
    TELETHON_SQLITE = "telethon_sqlite"
    TELETHON_STRING = "telethon_string"
    PYROGRAM_SQLITE = "pyrogram_sqlite"
    PYROGRAM_STRING = "pyrogram_string"
    LOGIN = "login"  # made here by signing in with the phone (accounts.services.logins)


@dataclass(frozen=True)
class AccountProfile:
    """What a JSON sidecar says about the account and the app that made the session."""

    api_id: int | None = None
    api_hash: str | None = None
    phone: str | None = None
    user_id: int | None = None
    username: str | None = None
    two_fa: str | None = field(default=None, repr=False)
    device: dict[str, str] = field(default_factory=dict)
    proxy: object | None = field(default=None, repr=False)  # a ProxySpec: where this account's connections leave from


@dataclass(frozen=True)
class SessionRecord:
    dc_id: int
    server_address: str
    port: int
    auth_key: bytes = field(repr=False)
    source_format: SessionFormat
    user_id: int | None = None
    test_server: bool = False
    api_id: int | None = None

    def __post_init__(self) -> None:
        if len(self.auth_key) != AUTH_KEY_LENGTH:
            raise SessionFormatError(f"auth key is {len(self.auth_key)} bytes; a Telegram auth key is 256")
        if not any(self.auth_key):
            raise SessionFormatError("auth key is empty (all zero): the session was never logged in")
        # Only Telegram's own DCs are ever dialled: a file cannot point a check at an address of its choosing.
        if isinstance(self.dc_id, bool) or self.dc_id not in PRODUCTION_DCS:
            raise SessionFormatError(f"DC id {self.dc_id} is not a Telegram data centre (1-{max(PRODUCTION_DCS)})")
        if isinstance(self.port, bool) or not 0 < self.port < 65536:
            raise SessionFormatError(f"port {self.port} is out of range")
        address = self.server_address
        if not isinstance(address, str) or len(address) > MAX_ADDRESS_LENGTH or not _is_ip_address(address):
            raise SessionFormatError("server address is not an IP address")
        if self.user_id is not None:
            whole_number(self.user_id, "user id", maximum=MAX_USER_ID)
        if self.api_id is not None:
            whole_number(self.api_id, "api_id", maximum=MAX_API_ID)

    @property
    def auth_key_sha256(self) -> str:
        """Identifies the key without revealing it (2048 random bits cannot be guessed back)."""
        return hashlib.sha256(self.auth_key).hexdigest()

    def to_payload(self) -> dict[str, object]:
        return {
            "dc_id": self.dc_id,
            "server_address": self.server_address,
            "port": self.port,
            "auth_key": base64.b64encode(self.auth_key).decode("ascii"),
            "source_format": str(self.source_format),
            "user_id": self.user_id,
            "test_server": self.test_server,
            "api_id": self.api_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> SessionRecord:
        return cls(
            dc_id=int(payload["dc_id"]),
            server_address=str(payload["server_address"]),
            port=int(payload["port"]),
            auth_key=base64.b64decode(str(payload["auth_key"])),
            source_format=SessionFormat(payload["source_format"]),
            user_id=payload.get("user_id"),
            test_server=bool(payload.get("test_server", False)),
            api_id=payload.get("api_id"),
        )


@functools.lru_cache(maxsize=256)
def _is_ip_address(text: str) -> bool:
    """Remembered: a fleet's sessions name a handful of DC addresses, and a check batch unseals hundreds of them (the
    caller bounds the text's length, so hostile input cannot fill the cache with large strings)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def whole_number(value: object, what: str, *, minimum: int = 1, maximum: int = MAX_USER_ID) -> int:
    """A stored integer as it must be: an int (not text, a float or NULL) within range; else a named refusal."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SessionFormatError(f"{what} must be a whole number, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise SessionFormatError(f"{what} {value} is out of range ({minimum}-{maximum})")
    return value


def dc_address(dc_id: int, *, test_server: bool) -> str:
    table = TEST_DCS if test_server else PRODUCTION_DCS
    try:
        return table[dc_id]
    except KeyError:
        kind = "test" if test_server else "production"
        raise SessionFormatError(f"DC id {dc_id} is not a Telegram {kind} data centre") from None


def dc_is_test(dc_id: int, server_address: str) -> bool:
    return TEST_DCS.get(dc_id) == server_address


def b64url_strict(text: str) -> bytes:
    """URL-safe base64 that refuses stray characters (the stdlib decoder silently drops them)."""
    import binascii

    try:
        standard = text.encode("ascii").translate(bytes.maketrans(b"-_", b"+/"))
        return base64.b64decode(standard + b"=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SessionFormatError("bad base64") from None
