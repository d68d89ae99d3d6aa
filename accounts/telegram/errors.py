"""The one place where Telethon's exceptions become our outcomes."""

from __future__ import annotations

import asyncio

from telethon import errors
from telethon.errors import rpcerrorlist

from accounts.telegram.outcomes import CheckOutcome

FROZEN = (errors.FrozenMethodInvalidError, errors.FrozenParticipantMissingError)
BANNED = (errors.UserDeactivatedBanError, errors.UserDeactivatedError, errors.PhoneNumberBannedError)
REVOKED = (errors.UnauthorizedError, errors.AuthKeyNotFound)  # 401 family, and the transport's -404
NETWORK = (OSError, ConnectionError, asyncio.IncompleteReadError, errors.InvalidBufferError,
           errors.InvalidChecksumError)  # fmt: skip


def outcome_for(exc: BaseException) -> tuple[CheckOutcome, str, int | None]:
    """(outcome, detail, flood seconds) for an exception raised while checking."""
    if isinstance(exc, FROZEN):  # a 420 that is no flood wait: the key works, the account is frozen (deep check)
        return CheckOutcome.OK, _name(exc), None
    if isinstance(exc, errors.FloodWaitError | errors.FloodPremiumWaitError):
        return CheckOutcome.FLOOD_WAIT, "FLOOD_WAIT", int(exc.seconds)
    if isinstance(exc, errors.AuthKeyDuplicatedError):
        return CheckOutcome.DUPLICATED, "AUTH_KEY_DUPLICATED", None
    if isinstance(exc, BANNED):
        return CheckOutcome.BANNED, _name(exc), None
    if isinstance(exc, REVOKED):
        return CheckOutcome.REVOKED, _name(exc), None
    if isinstance(exc, TimeoutError):
        return CheckOutcome.TIMEOUT, "deadline passed", None
    if isinstance(exc, errors.RPCError):  # 500s and anything else Telegram refuses unexpectedly
        return CheckOutcome.SERVER_ERROR, _name(exc), None
    if isinstance(exc, NETWORK):
        return CheckOutcome.NETWORK, type(exc).__name__, None
    return CheckOutcome.NETWORK, type(exc).__name__, None


# Telethon raises a class per Telegram error and keeps only its generic message: the name back from its own table.
RPC_NAMES = {cls: name for name, cls in rpcerrorlist.rpc_errors_dict.items()}
RPC_NAMES.update({cls: pattern.split("_(")[0] for pattern, cls in rpcerrorlist.rpc_errors_re})


def rpc_name(exc: errors.RPCError) -> str:
    """Telegram's own name of an RPC error (PHONE_CODE_INVALID, FLOOD_WAIT ...), never a secret."""
    return (RPC_NAMES.get(type(exc)) or exc.message or type(exc).__name__)[:64]


def _name(exc: BaseException) -> str:
    if isinstance(exc, errors.RPCError):
        return f"{exc.code} {rpc_name(exc)}"
    if isinstance(exc, errors.AuthKeyNotFound):
        return "AUTH_KEY_NOT_FOUND (-404)"
    return type(exc).__name__
