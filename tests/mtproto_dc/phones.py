"""Signing in at the loopback DC: the phone numbers it knows and the auth.* / account.* answers Telegram gives.

A number is registered with its user, its home DC, the code it will accept and optionally a two-step password
(kept as an SRP verifier). Scripted failures: ``send_error`` answers auth.sendCode (PHONE_NUMBER_BANNED,
FLOOD_WAIT_X ...); ``code_expired`` makes every code stale. Codes go app -> SMS -> call on each auth.resendCode,
then SEND_CODE_UNAVAILABLE, as Telegram does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from telethon.tl import functions, types

from tests.mtproto_dc import replies
from tests.mtproto_dc.srp import Verifier

CODE_TYPES = (
    (types.auth.SentCodeTypeApp, types.auth.CodeTypeSms, 60),
    (types.auth.SentCodeTypeSms, types.auth.CodeTypeCall, 120),
    (types.auth.SentCodeTypeCall, None, None),
)


@dataclass
class Phone:
    number: str  # digits only, as Telethon sends it
    user_id: int
    home_dc: int = 2
    code: str = "12345"
    verifier: Verifier | None = None
    send_error: str = ""  # e.g. "400:PHONE_NUMBER_BANNED", "420:FLOOD_WAIT_300"
    code_expired: bool = False
    username: str = ""
    sent: list[tuple[int, str]] = field(default_factory=list)  # (api_id, code type) of each code sent


@dataclass
class PendingCode:
    phone: Phone
    step: int = 0


class PhoneBook:
    def __init__(self) -> None:
        self.phones: dict[str, Phone] = {}
        self.codes: dict[str, PendingCode] = {}  # phone_code_hash -> the code it stands for

    def add(self, number: str, user_id: int, *, password: str | None = None, hint: str = "", **kwargs) -> Phone:
        digits = number.lstrip("+")
        verifier = Verifier.from_password(password, hint) if password is not None else None
        self.phones[digits] = Phone(digits, user_id, verifier=verifier, **kwargs)
        return self.phones[digits]

    def answer(self, dc, entry, msg_id: int, request) -> bytes | None:
        """The reply to a sign-in request, or None if this is not one."""
        method = _METHODS.get(type(request))
        return method(self, dc, entry, msg_id, request) if method else None

    def _send_code(self, dc, entry, msg_id, request) -> bytes:
        phone = self.phones.get(request.phone_number)
        if phone is None:
            return replies.rpc_error(msg_id, 400, "PHONE_NUMBER_INVALID")
        if phone.send_error:
            code, message = phone.send_error.split(":", 1)
            return replies.rpc_error(msg_id, int(code), message)
        if phone.home_dc != entry.dc_id:  # this number lives in another DC: go there
            return replies.rpc_error(msg_id, 303, f"PHONE_MIGRATE_{phone.home_dc}")
        phone_code_hash = os.urandom(9).hex()
        self.codes[phone_code_hash] = PendingCode(phone)
        return replies.rpc_result(msg_id, self._sent(phone, phone_code_hash, request.api_id))

    def _resend_code(self, dc, entry, msg_id, request) -> bytes:
        pending = self.codes.get(request.phone_code_hash)
        if pending is None or pending.phone.number != request.phone_number:
            return replies.rpc_error(msg_id, 400, "PHONE_CODE_EXPIRED")
        if pending.step + 1 >= len(CODE_TYPES):
            return replies.rpc_error(msg_id, 406, "SEND_CODE_UNAVAILABLE")
        pending.step += 1
        return replies.rpc_result(msg_id, self._sent(pending.phone, request.phone_code_hash, 0, pending.step))

    def _sign_in(self, dc, entry, msg_id, request) -> bytes:
        pending = self.codes.get(request.phone_code_hash)
        if pending is None or pending.phone.number != request.phone_number or pending.phone.code_expired:
            return replies.rpc_error(msg_id, 400, "PHONE_CODE_EXPIRED")
        phone = pending.phone
        if request.phone_code != phone.code:
            return replies.rpc_error(msg_id, 400, "PHONE_CODE_INVALID")
        del self.codes[request.phone_code_hash]
        if phone.verifier is not None:
            entry.awaiting_password = phone
            return replies.rpc_error(msg_id, 401, "SESSION_PASSWORD_NEEDED")
        return replies.rpc_result(msg_id, _authorize(entry, phone))

    def _get_password(self, dc, entry, msg_id, request) -> bytes:
        phone = entry.awaiting_password or self._phone_of(entry.user_id)
        if phone is None or phone.verifier is None:
            if entry.user_id is None:
                return replies.rpc_error(msg_id, 401, "AUTH_KEY_UNREGISTERED")
            return replies.rpc_result(msg_id, bytes(types.account.Password(
                new_algo=types.PasswordKdfAlgoUnknown(), new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
                secure_random=os.urandom(256), has_password=False)))  # fmt: skip
        return replies.rpc_result(msg_id, phone.verifier.password_info())

    def _check_password(self, dc, entry, msg_id, request) -> bytes:
        phone = entry.awaiting_password
        if phone is None:
            return replies.rpc_error(msg_id, 400, "PASSWORD_HASH_INVALID")
        if not isinstance(request.password, types.InputCheckPasswordSRP):
            return replies.rpc_error(msg_id, 400, "PASSWORD_HASH_INVALID")
        error = phone.verifier.check(request.password)
        if error:
            return replies.rpc_error(msg_id, 400, error)
        entry.awaiting_password = None
        return replies.rpc_result(msg_id, _authorize(entry, phone))

    def _log_out(self, dc, entry, msg_id, request) -> bytes:
        entry.user_id, entry.awaiting_password = None, None
        return replies.rpc_result(msg_id, bytes(types.auth.LoggedOut()))

    def _phone_of(self, user_id: int | None) -> Phone | None:
        return next((p for p in self.phones.values() if p.user_id == user_id), None) if user_id else None

    @staticmethod
    def _sent(phone: Phone, phone_code_hash: str, api_id: int, step: int = 0) -> bytes:
        sent_type, next_type, timeout = CODE_TYPES[step]
        phone.sent.append((api_id, sent_type.__name__))
        return bytes(types.auth.SentCode(type=sent_type(length=len(phone.code)), phone_code_hash=phone_code_hash,
                                         next_type=next_type() if next_type else None, timeout=timeout))  # fmt: skip


def _authorize(entry, phone: Phone) -> bytes:
    entry.user_id = phone.user_id
    user = types.User(id=phone.user_id, is_self=True, access_hash=phone.user_id * 7919, first_name="Loopback",
                      username=phone.username or None, phone=phone.number)  # fmt: skip
    return bytes(types.auth.Authorization(user=user))


_METHODS = {
    functions.auth.SendCodeRequest: PhoneBook._send_code,
    functions.auth.ResendCodeRequest: PhoneBook._resend_code,
    functions.auth.SignInRequest: PhoneBook._sign_in,
    functions.account.GetPasswordRequest: PhoneBook._get_password,
    functions.auth.CheckPasswordRequest: PhoneBook._check_password,
    functions.auth.LogOutRequest: PhoneBook._log_out,
}
