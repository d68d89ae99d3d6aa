"""What Telegram holds against an account, scripted per auth key, and the answers a deep check gets.

users.getUsers carries the user's restricted / scam / fake flags; account.getPassword whether a two-step password
is set; account.getAuthorizations our session and any others; help.getAppConfig the freeze fields (or not
modified, or a malformed config); auth.resetAuthorizations ends the others. A frozen account answers 420
FROZEN_METHOD_INVALID to ordinary methods while help.getAppConfig still works. @SpamBot resolves by
contacts.resolveUsername, takes "/start" by messages.sendMessage (or PEER_FLOOD) and answers in
messages.getHistory with the scripted text.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
from dataclasses import dataclass, field

from telethon.tl import functions, types

from tests.mtproto_dc import replies
from tests.mtproto_dc.srp import Verifier

SPAMBOT_ID = 178220800
BOOL_TRUE = 0x997275B5
SPAMBOT_HASH = 0x5EED5EED
FREE = "Good news, no limits are currently applied to your account. You’re free as a bird!"
FROZEN_METHODS = (functions.contacts.ResolveUsernameRequest, functions.messages.SendMessageRequest,
                  functions.messages.GetHistoryRequest, functions.account.GetAuthorizationsRequest,
                  functions.auth.ResetAuthorizationsRequest)  # fmt: skip


@dataclass
class Standing:
    restricted: bool = False
    restriction_reasons: list[tuple[str, str, str]] = field(default_factory=list)  # (platform, reason, text)
    scam: bool = False
    fake: bool = False
    frozen: tuple[int, int, str] | None = None  # freeze_since_date, freeze_until_date, freeze_appeal_url
    app_config: str = "ok"  # ok, not_modified, malformed
    two_step: bool = False
    others: list[types.Authorization] = field(default_factory=list)
    reset_forbidden: bool = False  # FRESH_RESET_AUTHORISATION_FORBIDDEN (a session younger than a day)
    spambot: str | None = FREE  # @SpamBot's answer to /start; None: it never answers
    peer_flood: bool = False  # messages.sendMessage answers PEER_FLOOD
    spambot_messages: list[str] = field(default_factory=list)  # what the account sent the bot
    _verifier: Verifier | None = None

    def other(self, hash_: int, device: str, country: str, *, ip: str = "203.0.113.7", created: int = 0,
              app: str = "Telegram Desktop", unconfirmed: bool = False) -> None:  # fmt: skip
        when = dt.datetime.fromtimestamp(created, dt.UTC) if created else dt.datetime.now(dt.UTC)
        self.others.append(types.Authorization(hash=hash_, device_model=device, platform="Windows",
                                               system_version="10", api_id=2040, app_name=app, app_version="5.8",
                                               date_created=when, date_active=when, ip=ip, country=country,
                                               region="", official_app=True, unconfirmed=unconfirmed))  # fmt: skip


def answer(entry, msg_id: int, request) -> bytes | None:
    """The reply to a standing question from a signed-in key, or None if this is not one."""
    standing: Standing = entry.standing
    if standing.frozen and isinstance(request, FROZEN_METHODS):
        return replies.rpc_error(msg_id, 420, "FROZEN_METHOD_INVALID")
    if isinstance(request, functions.help.GetAppConfigRequest):
        return replies.rpc_result(msg_id, _app_config(standing))
    if isinstance(request, functions.account.GetAuthorizationsRequest):
        current = types.Authorization(hash=0, device_model="tgfleet", platform="", system_version="", api_id=0,
                                      app_name="tgfleet", app_version="", date_created=None, date_active=None,
                                      ip="127.0.0.1", country="", region="", current=True)  # fmt: skip
        return replies.rpc_result(msg_id, bytes(types.account.Authorizations(180, [current, *standing.others])))
    if isinstance(request, functions.auth.ResetAuthorizationsRequest):
        if standing.reset_forbidden:
            return replies.rpc_error(msg_id, 406, "FRESH_RESET_AUTHORISATION_FORBIDDEN")
        standing.others.clear()
        return replies.rpc_result(msg_id, struct.pack("<I", BOOL_TRUE))
    if isinstance(request, functions.account.GetPasswordRequest) and entry.awaiting_password is None:
        if not standing.two_step:
            return None  # the phone book's answer (no password)
        standing._verifier = standing._verifier or Verifier.from_password(os.urandom(8).hex())
        return replies.rpc_result(msg_id, standing._verifier.password_info())
    if isinstance(request, functions.contacts.ResolveUsernameRequest):
        if request.username.lower() != "spambot":
            return replies.rpc_error(msg_id, 400, "USERNAME_NOT_OCCUPIED")
        return replies.rpc_result(msg_id, bytes(types.contacts.ResolvedPeer(types.PeerUser(SPAMBOT_ID), [],
                                                                            [_spambot()])))  # fmt: skip
    if isinstance(request, functions.messages.SendMessageRequest):
        if standing.peer_flood:
            return replies.rpc_error(msg_id, 400, "PEER_FLOOD")
        standing.spambot_messages.append(request.message)
        sent = types.UpdateShortSentMessage(id=2 * len(standing.spambot_messages) - 1, pts=1, pts_count=1,
                                            date=dt.datetime.now(dt.UTC), out=True)  # fmt: skip
        return replies.rpc_result(msg_id, bytes(sent))
    if isinstance(request, functions.messages.GetHistoryRequest):
        return replies.rpc_result(msg_id, bytes(types.messages.Messages(_history(entry), [], [], [_spambot()])))
    return None


def self_user(entry) -> bytes:
    s: Standing = entry.standing
    reasons = [types.RestrictionReason(p, r, t) for p, r, t in s.restriction_reasons] or None
    return bytes(types.User(id=entry.user_id, is_self=True, access_hash=entry.user_id * 7919, first_name="Loopback",
                            phone="15550000000", restricted=s.restricted or None, restriction_reason=reasons,
                            scam=s.scam or None, fake=s.fake or None))  # fmt: skip


def _history(entry) -> list:
    standing: Standing = entry.standing
    now = dt.datetime.now(dt.UTC)
    messages = []
    for i, text in enumerate(standing.spambot_messages):
        messages.append(types.Message(id=2 * i + 1, peer_id=types.PeerUser(SPAMBOT_ID), date=now, message=text,
                                      out=True, from_id=types.PeerUser(entry.user_id)))  # fmt: skip
        if standing.spambot is not None:
            messages.append(types.Message(id=2 * i + 2, peer_id=types.PeerUser(SPAMBOT_ID), date=now,
                                          message=standing.spambot, from_id=types.PeerUser(SPAMBOT_ID)))  # fmt: skip
    return list(reversed(messages))  # newest first, as Telegram lists history


def _spambot() -> types.User:
    return types.User(id=SPAMBOT_ID, access_hash=SPAMBOT_HASH, bot=True, bot_info_version=1, first_name="Spam Info Bot",
                      username="SpamBot", verified=True)  # fmt: skip


def _app_config(standing: Standing) -> bytes:
    if standing.app_config == "not_modified":
        return bytes(types.help.AppConfigNotModified())
    fields = [types.JsonObjectValue("test", types.JsonBool(True))]
    if standing.frozen:
        since, until, url = standing.frozen
        fields += [types.JsonObjectValue("freeze_since_date", types.JsonNumber(since)),
                   types.JsonObjectValue("freeze_until_date", types.JsonNumber(until)),
                   types.JsonObjectValue("freeze_appeal_url", types.JsonString(url))]  # fmt: skip
    if standing.app_config == "malformed":  # a list where an object belongs, the dates as text
        return bytes(types.help.AppConfig(7, types.JsonArray([types.JsonString("freeze_until_date")])))
    return bytes(types.help.AppConfig(7, types.JsonObject(fields)))
