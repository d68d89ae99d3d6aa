"""Is this session alive, and if not, why? One question, asked of Telegram through Telethon.

Built on Telethon's MTProtoSender rather than TelegramClient: the client's connect()
calls get_me(), which swallows 401s, and sleeps through flood waits. Here the client
is in memory (the session never touches disk), flood waits are reported, not slept
on, and every check ends by its deadline whatever the server does.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telethon.crypto import AuthKey
from telethon.network import ConnectionTcpFull, MTProtoSender
from telethon.tl import functions, types
from telethon.tl.alltlobjects import LAYER

from accounts.sessions import SessionRecord
from accounts.telegram.endpoint import ClientProfile, Endpoint
from accounts.telegram.errors import outcome_for
from accounts.telegram.outcomes import CheckOutcome, CheckResult
from accounts.telegram.route import ProxyRoute


class _Loggers(dict):
    def __missing__(self, key: str) -> logging.Logger:
        self[key] = logging.getLogger(key)
        return self[key]


LOGGERS = _Loggers()


async def session_check(
    record: SessionRecord, *, endpoint: Endpoint, profile: ClientProfile, timeout: float,
    proxy: ProxyRoute | None = None,
) -> CheckResult:  # fmt: skip
    """With a proxy, the connection goes through it or nowhere: a failure to get through it (down, refused,
    wrong credentials, stalled) is `proxy_error`, never a reason to dial the DC directly."""
    sender = new_sender(record, timeout)
    started = time.monotonic()
    connected = False
    try:
        async with asyncio.timeout(timeout):
            await sender.connect(connection_for(endpoint, proxy))
            connected = True
            await sender.send(functions.InvokeWithLayerRequest(LAYER, init_request(profile)))
            users = await sender.send(functions.users.GetUsersRequest([types.InputUserSelf()]))
            latency = _ms(started)
            country = await _exit_country(sender) if proxy is not None else None
        user_id = users[0].id if users else None
        return CheckResult(CheckOutcome.OK, latency_ms=latency, user_id=user_id, country=country)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled; not the server's doing
        if proxy is not None and not connected:
            return CheckResult(CheckOutcome.PROXY_ERROR, f"proxy {proxy.proxy_id} closed the connection", _ms(started))
        # Telethon cancels the pending request when the server closes the connection under it.
        return CheckResult(CheckOutcome.NETWORK, "connection closed mid-request", _ms(started))
    except Exception as exc:
        if proxy is not None and not connected:
            reason = "stalled" if isinstance(exc, TimeoutError) else "unreachable, refused us or failed"
            return CheckResult(CheckOutcome.PROXY_ERROR, f"proxy {proxy.proxy_id} {reason}"[:200], _ms(started))
        outcome, detail, seconds = outcome_for(exc)
        return CheckResult(outcome, detail, _ms(started), flood_seconds=seconds)
    finally:
        await sender_close(sender)


def new_sender(record: SessionRecord, timeout: float) -> MTProtoSender:
    """Telethon's sender over the session's key, in memory: one try, no reconnecting, our deadline."""
    return MTProtoSender(AuthKey(record.auth_key), loggers=LOGGERS, retries=1, delay=0, auto_reconnect=False,
                         connect_timeout=timeout)  # fmt: skip


def connection_for(endpoint: Endpoint, proxy: ProxyRoute | None):
    """Through the account's proxy or not at all; direct only for an account without one."""
    if proxy is not None:
        return proxy.connection(endpoint, LOGGERS)
    return ConnectionTcpFull(endpoint.host, endpoint.port, endpoint.dc_id, loggers=LOGGERS)


async def _exit_country(sender: MTProtoSender) -> str | None:
    """Where Telegram places the proxy's exit address (help.getNearestDc, which the official apps ask at start):
    an account whose country changes is one Telegram may log out. Best effort: the check's answer stands."""
    try:
        nearest = await sender.send(functions.help.GetNearestDcRequest())
    except Exception as exc:
        logging.getLogger(__name__).debug("help.getNearestDc failed: %s", type(exc).__name__)
        return None
    return (nearest.country or "").upper()[:2] or None


def init_request(profile: ClientProfile) -> functions.InitConnectionRequest:
    return functions.InitConnectionRequest(
        api_id=profile.api_id,
        device_model=profile.device_model,
        system_version=profile.system_version,
        app_version=profile.app_version,
        system_lang_code=profile.system_lang_code,
        lang_pack="",
        lang_code=profile.lang_code,
        query=functions.help.GetConfigRequest(),
    )


async def sender_close(sender: MTProtoSender) -> None:
    connection = sender._connection  # Telethon forgets it on disconnect
    try:
        async with asyncio.timeout(2):
            await sender.disconnect()
        # Telethon parks the connection's end on a future nobody awaits; take it, or asyncio logs an ERROR.
        ended = getattr(sender, "_disconnected", None)
        if ended is not None and ended.done() and not ended.cancelled():
            ended.exception()
    except (Exception, asyncio.CancelledError) as exc:  # closing is best effort
        logging.getLogger(__name__).debug("closing the check's connection failed: %s", type(exc).__name__)
    else:
        cycles_break(sender, connection)


def cycles_break(sender: MTProtoSender, connection) -> None:
    """Once disconnected, untie the two reference cycles Telethon leaves: the sender's jump table holds the sender's
    own bound methods, and a connection and its packet codec hold each other. Both cycles kept a check's whole
    object graph (sender, state, queues, tasks, connection, streams: about 75 objects) for the cyclic collector,
    which a worker then ran for a tenth of its CPU per check; untied, it is freed as the check returns. Only after
    a clean disconnect: then nothing of Telethon's runs on this sender any more."""
    sender._handlers.clear()
    if connection is not None:
        connection._codec = None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
