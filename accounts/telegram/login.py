"""Signing an account in through Telethon's own client, one step per call, nothing on disk between steps.

Each step builds a TelegramClient over an in-memory session holding what the last step left (DC, address, the
half-made auth key), so Telethon makes every request in its own order: connect (a new auth key by the real key
exchange when there is none, then initConnection with help.getConfig), send_code_request (auth.sendCode; a
PHONE_MIGRATE_X moves the client to DC X by Telethon's own _switch_dc, a new key there, and asks again),
auth.resendCode, sign_in with the code (auth.signIn), and sign_in with the two-step password (account.getPassword,
then auth.checkPassword with the SRP proof Telethon computes). The client speaks as the account's app and device
and through its proxy from the first packet; flood waits are reported, never slept on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass, field

from telethon import TelegramClient, errors, utils
from telethon.crypto import AuthKey
from telethon.network import ConnectionTcpFull
from telethon.sessions import StringSession
from telethon.tl import functions, types

from accounts.telegram.errors import rpc_name
from accounts.telegram.route import ProxyRoute

logger = logging.getLogger(__name__)

SENT_CODE_TYPES = {
    types.auth.SentCodeTypeApp: "app",
    types.auth.SentCodeTypeSms: "sms",
    types.auth.SentCodeTypeCall: "call",
    types.auth.SentCodeTypeFlashCall: "flash_call",
    types.auth.SentCodeTypeMissedCall: "missed_call",
    types.auth.SentCodeTypeFragmentSms: "fragment",
    types.auth.SentCodeTypeEmailCode: "email",
    types.auth.SentCodeTypeSetUpEmailRequired: "email_setup",
    types.auth.SentCodeTypeFirebaseSms: "sms",
    types.auth.SentCodeTypeSmsWord: "sms",
    types.auth.SentCodeTypeSmsPhrase: "sms",
}
NEXT_CODE_TYPES = {
    types.auth.CodeTypeSms: "sms",
    types.auth.CodeTypeCall: "call",
    types.auth.CodeTypeFlashCall: "flash_call",
    types.auth.CodeTypeMissedCall: "missed_call",
    types.auth.CodeTypeFragmentSms: "fragment",
}


@dataclass
class LoginSession:
    """What one step leaves for the next; sealed in the vault between steps, never logged."""

    phone: str
    dc_id: int
    host: str
    port: int
    api_id: int
    api_hash: str = field(repr=False)
    device: dict = field(default_factory=dict)
    auth_key: bytes | None = field(default=None, repr=False)
    phone_code_hash: str = field(default="", repr=False)

    def to_bytes(self) -> bytes:
        doc = asdict(self)
        doc["auth_key"] = self.auth_key.hex() if self.auth_key else None
        return json.dumps(doc).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> LoginSession:
        doc = json.loads(data)
        doc["auth_key"] = bytes.fromhex(doc["auth_key"]) if doc["auth_key"] else None
        return cls(**doc)


@dataclass(frozen=True)
class SignedInUser:
    id: int
    username: str
    phone: str


@dataclass
class StepResult:
    """code_sent, password_needed, signed_in, logged_out, or error (with Telegram's error name, or NETWORK,
    TIMEOUT, PROXY_ERROR)."""

    kind: str
    code_type: str = ""
    next_type: str = ""
    timeout: int | None = None
    hint: str = ""
    user: SignedInUser | None = None
    error: str = ""
    flood_seconds: int | None = None


class _LoginClient(TelegramClient):
    # Telethon keeps help.getConfig (where each DC is) on the class; each step asks the DC it talks to afresh.
    _config = None


async def login_step(session: LoginSession, action: str, *, secret: str = "", proxy: ProxyRoute | None,
                     timeout: float) -> StepResult:  # fmt: skip
    """Run one step: send_code, resend, code (secret = the code), password (secret = the password) or log_out.
    ``session`` is updated in place with where the client ended up (DC, address, auth key)."""
    client = _client(session, proxy, timeout)
    connected = False
    try:
        async with asyncio.timeout(timeout):
            await client.connect()
            connected = True
            result = await _STEPS[action](client, session, secret)
    except errors.FloodWaitError as exc:
        result = StepResult("error", error="FLOOD_WAIT", flood_seconds=exc.seconds)
    except errors.SessionPasswordNeededError:
        result = await _password_needed(client, timeout)
    except errors.RPCError as exc:
        result = StepResult("error", error=rpc_name(exc))
    except TimeoutError:
        result = StepResult("error", error="PROXY_ERROR" if proxy and not connected else "TIMEOUT")
    except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
        logger.info("sign-in step %s failed on the network: %s", action, type(exc).__name__)
        result = StepResult("error", error="PROXY_ERROR" if proxy and not connected else "NETWORK")
    finally:
        _capture(client, session)
        await _close(client)
    return result


def _client(session: LoginSession, proxy: ProxyRoute | None, timeout: float) -> TelegramClient:
    _LoginClient._config = None
    string = StringSession()
    string.set_dc(session.dc_id, session.host, session.port)
    if session.auth_key:
        string.auth_key = AuthKey(session.auth_key)
    connection, proxy_option = proxy.client_options() if proxy else (ConnectionTcpFull, None)
    device = session.device
    return _LoginClient(
        string, session.api_id, session.api_hash, connection=connection, proxy=proxy_option, timeout=timeout,
        request_retries=2,  # a PHONE_MIGRATE_X is answered by asking again on the right DC
        connection_retries=1, retry_delay=0, auto_reconnect=False, flood_sleep_threshold=0,
        receive_updates=False, catch_up=False,
        device_model=device.get("device", "tgfleet"), system_version=device.get("sdk", "Linux"),
        app_version=device.get("app_version", "1.0"), lang_code=device.get("lang_code", "en"),
        system_lang_code=device.get("system_lang_code", "en"),
    )  # fmt: skip


async def _send_code(client: TelegramClient, session: LoginSession, _secret: str) -> StepResult:
    sent = await client.send_code_request(session.phone)
    session.phone_code_hash = sent.phone_code_hash
    return _code_sent(sent)


async def _resend(client: TelegramClient, session: LoginSession, _secret: str) -> StepResult:
    # The request Telethon's send_code_request makes for a number it already has a hash for, in its phone form.
    sent = await client(functions.auth.ResendCodeRequest(utils.parse_phone(session.phone), session.phone_code_hash))
    session.phone_code_hash = sent.phone_code_hash or session.phone_code_hash
    return _code_sent(sent)


async def _code(client: TelegramClient, session: LoginSession, code: str) -> StepResult:
    user = await client.sign_in(session.phone, code, phone_code_hash=session.phone_code_hash)
    return _signed_in(user)


async def _password(client: TelegramClient, session: LoginSession, password: str) -> StepResult:
    return _signed_in(await client.sign_in(password=password))


async def _log_out(client: TelegramClient, session: LoginSession, _secret: str) -> StepResult:
    await client(functions.auth.LogOutRequest())
    return StepResult("logged_out")


_STEPS = {"send_code": _send_code, "resend": _resend, "code": _code, "password": _password, "log_out": _log_out}


async def _password_needed(client: TelegramClient, timeout: float) -> StepResult:
    """After SESSION_PASSWORD_NEEDED the official apps ask account.getPassword for the hint; so do we."""
    try:
        async with asyncio.timeout(min(timeout, 5)):  # the hint only: the step has had its time
            pwd = await client(functions.account.GetPasswordRequest())
    except (errors.RPCError, OSError, TimeoutError):
        return StepResult("password_needed")
    return StepResult("password_needed", hint=(pwd.hint or "")[:128])


def _code_sent(sent) -> StepResult:
    if isinstance(sent, types.auth.SentCodeSuccess):  # the number signed in without a code (future auth token)
        return _signed_in(sent.authorization.user)
    return StepResult("code_sent", code_type=SENT_CODE_TYPES.get(type(sent.type), "other"),
                      next_type=NEXT_CODE_TYPES.get(type(sent.next_type), "") if sent.next_type else "",
                      timeout=sent.timeout)  # fmt: skip


def _signed_in(user) -> StepResult:
    return StepResult("signed_in", user=SignedInUser(user.id, user.username or "", user.phone or ""))


def _capture(client: TelegramClient, session: LoginSession) -> None:
    """Where the client is now (a migration moves it to another DC with a new key)."""
    current = client.session
    if current.server_address:
        session.dc_id, session.host, session.port = current.dc_id, current.server_address, current.port
    key = current.auth_key
    session.auth_key = key.key if key is not None and key.key else None


async def _close(client: TelegramClient) -> None:
    try:
        async with asyncio.timeout(2):
            await client.disconnect()
    except (Exception, asyncio.CancelledError) as exc:  # closing is best effort
        logger.debug("closing the sign-in connection failed: %s", type(exc).__name__)
