"""The deep check: what Telegram holds against an account, asked rarely, on one connection.

After connecting as the liveness check does (initConnection as the account's app, through its proxy), it asks
users.getUsers (restricted / scam / fake and their reasons), account.getPassword (two-step on or off),
account.getAuthorizations (every device signed in), help.getAppConfig (freeze_since_date, freeze_until_date,
freeze_appeal_url) and, when asked to, @SpamBot (contacts.resolveUsername, messages.sendMessage "/start",
messages.getHistory for its answer). A 420 FROZEN_METHOD_INVALID (or 400 FROZEN_PARTICIPANT_MISSING) from any of
them is the freeze signal, recognised before anything could take it for a flood wait. Every finding keeps its
evidence: the method, Telegram's answer or error, the time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from dataclasses import dataclass, field

from telethon.errors import rpcerrorlist
from telethon.network import MTProtoSender
from telethon.tl import functions, types
from telethon.tl.alltlobjects import LAYER

from accounts.sessions import SessionRecord
from accounts.telegram.endpoint import ClientProfile, Endpoint
from accounts.telegram.errors import outcome_for, rpc_name
from accounts.telegram.gateway import connection_for, init_request, new_sender, sender_close
from accounts.telegram.outcomes import CheckOutcome
from accounts.telegram.route import ProxyRoute

FROZEN_ERRORS = {"FROZEN_METHOD_INVALID", "FROZEN_PARTICIPANT_MISSING"}
SPAM_ERRORS = {"PEER_FLOOD", "USER_RESTRICTED"}
SPAMBOT = "SpamBot"
SPAMBOT_POLLS = 6


@dataclass
class DeepResult:
    outcome: CheckOutcome = CheckOutcome.OK
    detail: str = ""
    restricted: bool | None = None
    scam: bool | None = None
    fake: bool | None = None
    restriction_reasons: list[dict] = field(default_factory=list)
    two_step: bool | None = None
    authorizations: list[dict] | None = None
    frozen: bool | None = None  # None: unknown (no usable app config and no freeze error)
    freeze_since: int | None = None
    freeze_until: int | None = None
    freeze_appeal_url: str = ""
    spambot_asked: bool = False
    spambot_text: str | None = None  # None: not asked, or no answer
    spam_errors: list[str] = field(default_factory=list)  # PEER_FLOOD / USER_RESTRICTED met on the way
    evidence: list[dict] = field(default_factory=list)

    def note(self, signal: str, method: str, answer: str) -> None:
        self.evidence.append({"signal": signal, "method": method, "answer": answer[:500],
                              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})  # fmt: skip


async def deep_check(record: SessionRecord, *, endpoint: Endpoint, profile: ClientProfile, timeout: float,
                     proxy: ProxyRoute | None = None, ask_spambot: bool = False) -> DeepResult:  # fmt: skip
    sender = new_sender(record, timeout)
    result = DeepResult()
    connected = False
    try:
        async with asyncio.timeout(timeout):
            await sender.connect(connection_for(endpoint, proxy))
            connected = True
            await sender.send(functions.InvokeWithLayerRequest(LAYER, init_request(profile)))
            await _ask_all(sender, result, ask_spambot)
    except (Exception, asyncio.CancelledError) as exc:
        task = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
            raise
        if proxy is not None and not connected:
            result.outcome, result.detail = CheckOutcome.PROXY_ERROR, f"proxy {proxy.proxy_id} unreachable"
        elif isinstance(exc, asyncio.CancelledError):
            result.outcome, result.detail = CheckOutcome.NETWORK, "connection closed mid-request"
        else:
            result.outcome, result.detail, _seconds = outcome_for(exc)
    finally:
        await sender_close(sender)
    return result


async def _ask_all(sender: MTProtoSender, result: DeepResult, ask_spambot: bool) -> None:
    users = await _ask(sender, result, "users.getUsers", functions.users.GetUsersRequest([types.InputUserSelf()]))
    if users:
        me = users[0]
        result.restricted, result.scam, result.fake = bool(me.restricted), bool(me.scam), bool(me.fake)
        result.restriction_reasons = [{"platform": r.platform, "reason": r.reason, "text": r.text[:300]}
                                      for r in (me.restriction_reason or [])]  # fmt: skip
        for flag in ("restricted", "scam", "fake"):
            if getattr(result, flag):
                result.note(flag, "users.getUsers", f"user.{flag} is set")
    password = await _ask(sender, result, "account.getPassword", functions.account.GetPasswordRequest())
    if password is not None:
        result.two_step = bool(password.has_password)
    sessions = await _ask(sender, result, "account.getAuthorizations", functions.account.GetAuthorizationsRequest())
    if sessions is not None:
        result.authorizations = [_authorization(a) for a in sessions.authorizations]
    config = await _ask(sender, result, "help.getAppConfig", functions.help.GetAppConfigRequest(hash=0))
    _freeze_read(result, config)
    if ask_spambot and not result.frozen:
        await _spambot(sender, result)


async def _ask(sender: MTProtoSender, result: DeepResult, method: str, request):
    """The answer, or None when Telegram refused this one question with an error that is itself a finding
    (frozen, spam-limited); anything else (revoked, banned, network) ends the check."""
    try:
        return await sender.send(request)
    except rpcerrorlist.RPCError as exc:
        name = rpc_name(exc)
        if name in FROZEN_ERRORS:  # 420, but never a flood wait
            result.frozen = True
            result.note("frozen", method, f"{exc.code} {name}")
            return None
        if name in SPAM_ERRORS:
            result.spam_errors.append(name)
            result.note("spam_blocked", method, f"{exc.code} {name}")
            return None
        if method != "users.getUsers" and exc.code in (400, 403):  # one question refused; the others stand
            result.note("refused", method, f"{exc.code} {name}")
            return None
        raise


def _freeze_read(result: DeepResult, config) -> None:
    """Frozen from the app config's freeze fields; a config that is missing, not modified or malformed leaves
    it unknown (or frozen, if a method already said so), never "not frozen"."""
    if not isinstance(config, types.help.AppConfig) or not isinstance(config.config, types.JsonObject):
        what = "no answer" if config is None else type(config).__name__
        if config is not None:
            result.note("freeze_unknown", "help.getAppConfig", f"{what}: the freeze fields cannot be read")
        return
    values = {item.key: item.value for item in config.config.value}
    since, until = values.get("freeze_since_date"), values.get("freeze_until_date")
    url = values.get("freeze_appeal_url")
    if since is None and until is None:
        result.frozen = bool(result.frozen) or False
        return
    if not isinstance(since, types.JsonNumber | type(None)) or not isinstance(until, types.JsonNumber | type(None)):
        result.note("freeze_unknown", "help.getAppConfig", "freeze dates are not numbers")
        return
    result.frozen = True
    result.freeze_since = int(since.value) if since else None
    result.freeze_until = int(until.value) if until else None
    result.freeze_appeal_url = url.value[:300] if isinstance(url, types.JsonString) else ""
    result.note("frozen", "help.getAppConfig", f"freeze_since_date={result.freeze_since} "
                f"freeze_until_date={result.freeze_until} freeze_appeal_url={result.freeze_appeal_url}")  # fmt: skip


async def _spambot(sender: MTProtoSender, result: DeepResult) -> None:
    resolve = functions.contacts.ResolveUsernameRequest(SPAMBOT)
    resolved = await _ask(sender, result, "contacts.resolveUsername", resolve)
    bot = next((u for u in getattr(resolved, "users", []) if getattr(u, "bot", False)), None)
    if bot is None:
        return
    peer = types.InputPeerUser(bot.id, bot.access_hash)
    result.spambot_asked = True
    sent = await _ask(sender, result, "messages.sendMessage", functions.messages.SendMessageRequest(
        peer, "/start", random_id=int.from_bytes(os.urandom(8), "big", signed=True)))  # fmt: skip
    if sent is None:
        return
    sent_id = getattr(sent, "id", 0)
    deadline = time.monotonic() + SPAMBOT_POLLS
    while time.monotonic() < deadline:
        history = await _ask(sender, result, "messages.getHistory", functions.messages.GetHistoryRequest(
            peer, offset_id=0, offset_date=None, add_offset=0, limit=5, max_id=0, min_id=sent_id, hash=0))  # fmt: skip
        answer = next((m for m in getattr(history, "messages", []) if isinstance(m, types.Message) and not m.out
                       and m.id > sent_id), None)  # fmt: skip
        if answer is not None:
            result.spambot_text = answer.message[:2000]
            result.note("spambot", "messages.getHistory", result.spambot_text)
            return
        await asyncio.sleep(1)
    result.note("spambot", "messages.getHistory", "no answer from @SpamBot")


def _authorization(a) -> dict:
    return {"hash": str(a.hash), "current": bool(a.current), "device": a.device_model[:100],
            "platform": a.platform[:50],
            "app": f"{a.app_name} {a.app_version}".strip()[:100], "api_id": a.api_id, "country": a.country[:60],
            "ip": a.ip[:64], "created": int(a.date_created.timestamp()) if a.date_created else None,
            "active": int(a.date_active.timestamp()) if a.date_active else None,
            "unconfirmed": bool(a.unconfirmed), "official": bool(a.official_app)}  # fmt: skip


async def other_sessions_reset(record: SessionRecord, *, endpoint: Endpoint, profile: ClientProfile,
                               timeout: float, proxy: ProxyRoute | None = None) -> str | None:  # fmt: skip
    """auth.resetAuthorizations: ends every session but this one (Telegram never ends the caller's). None when
    done, else Telegram's refusal (FRESH_RESET_AUTHORISATION_FORBIDDEN in a session's first day) or the failure."""
    sender = new_sender(record, timeout)
    try:
        async with asyncio.timeout(timeout):
            await sender.connect(connection_for(endpoint, proxy))
            await sender.send(functions.InvokeWithLayerRequest(LAYER, init_request(profile)))
            await sender.send(functions.auth.ResetAuthorizationsRequest())
        return None
    except rpcerrorlist.RPCError as exc:
        return rpc_name(exc)
    except Exception as exc:
        return outcome_for(exc)[1]
    finally:
        await sender_close(sender)
