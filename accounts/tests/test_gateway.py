"""Real Telethon, through the gateway, against the loopback DC: every outcome, each within its deadline."""

import asyncio
import gc
import os
import socket
import time

import pytest
from telethon.network import Connection, MTProtoSender

from accounts.sessions import SessionFormat, SessionRecord
from accounts.telegram.endpoint import ClientProfile, Endpoint
from accounts.telegram.gateway import session_check
from accounts.telegram.outcomes import CheckOutcome
from tests.mtproto_dc import Behaviour, LoopbackDC
from tests.mtproto_dc.server import CLOSE, SILENT

pytestmark = pytest.mark.timeout(30)
PROFILE = ClientProfile(api_id=12345)


@pytest.fixture
def dc():
    with LoopbackDC() as server:
        yield server


def _record(key: bytes) -> SessionRecord:
    return SessionRecord(2, "127.0.0.1", 443, key, SessionFormat.TELETHON_STRING)


def _check(dc: LoopbackDC, key: bytes, timeout: float = 5.0):
    endpoint = Endpoint("127.0.0.1", dc.port, 2)
    return asyncio.run(session_check(_record(key), endpoint=endpoint, profile=PROFILE, timeout=timeout))


def test_a_live_session_is_ok(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, user_id=424242)

    result = _check(dc, key)

    assert (result.outcome, result.user_id) == (CheckOutcome.OK, 424242)
    assert dc.stats(key).requests["InitConnectionRequest"] == 1
    assert dc.stats(key).requests["GetUsersRequest"] == 1


@pytest.mark.parametrize("behaviour", [None, Behaviour.error(401, "AUTH_KEY_UNREGISTERED")])
def test_a_check_leaves_nothing_for_the_cyclic_collector(dc, behaviour) -> None:
    """A check's Telethon objects (sender, connection and all they hold) are freed as it returns: a worker's
    cyclic collector does not have to find them, 250 checks a batch."""
    key = os.urandom(256)
    dc.add_key(key, *([behaviour] if behaviour else []))

    def telethon_objects() -> dict[int, str]:  # by type, not isinstance: that would evaluate lazy objects
        return {id(o): type(o).__name__ for o in gc.get_objects() if issubclass(type(o), MTProtoSender | Connection)}

    gc.collect()
    gc.disable()
    try:
        before = telethon_objects()
        result = _check(dc, key)
        left = [name for oid, name in telethon_objects().items() if oid not in before]
    finally:
        gc.enable()

    assert result.outcome == (CheckOutcome.REVOKED if behaviour else CheckOutcome.OK)
    assert left == []


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        (401, "AUTH_KEY_UNREGISTERED", CheckOutcome.REVOKED),
        (401, "SESSION_REVOKED", CheckOutcome.REVOKED),
        (401, "SESSION_EXPIRED", CheckOutcome.REVOKED),
        (420, "FROZEN_METHOD_INVALID", CheckOutcome.OK),  # a 420 that is no flood wait: the key works, it's frozen
        (401, "USER_DEACTIVATED_BAN", CheckOutcome.BANNED),
        (401, "USER_DEACTIVATED", CheckOutcome.BANNED),
        (406, "AUTH_KEY_DUPLICATED", CheckOutcome.DUPLICATED),
        (500, "INTERNAL_SERVER_ERROR", CheckOutcome.SERVER_ERROR),
    ],
)
def test_each_rpc_error_has_its_outcome(dc, code, message, outcome) -> None:
    key = os.urandom(256)
    dc.add_key(key, Behaviour.error(code, message))

    result = _check(dc, key)

    assert result.outcome == outcome
    assert message in result.detail or outcome == CheckOutcome.DUPLICATED


def test_a_flood_wait_is_reported_with_its_seconds_never_slept_on(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, Behaviour.error(420, "FLOOD_WAIT_3600"))
    started = time.monotonic()

    result = _check(dc, key)

    assert (result.outcome, result.flood_seconds) == (CheckOutcome.FLOOD_WAIT, 3600)
    assert time.monotonic() - started < 3


def test_a_slow_answer_inside_the_deadline_is_ok(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, Behaviour("delay", seconds=0.5))

    result = _check(dc, key, timeout=5)

    assert result.outcome == CheckOutcome.OK and result.latency_ms >= 500


def test_a_slow_answer_past_the_deadline_times_out(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, Behaviour("delay", seconds=10))

    result = _check(dc, key, timeout=1)

    assert result.outcome == CheckOutcome.TIMEOUT
    assert 1000 <= result.latency_ms < 2500


def test_a_silent_server_ends_at_the_deadline(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, SILENT)
    started = time.monotonic()

    result = _check(dc, key, timeout=1.5)

    assert result.outcome == CheckOutcome.TIMEOUT
    assert 1.5 <= time.monotonic() - started < 3.5


def test_a_connection_closed_mid_request_is_a_network_error(dc) -> None:
    key = os.urandom(256)
    dc.add_key(key, CLOSE)

    result = _check(dc, key)

    assert result.outcome == CheckOutcome.NETWORK
    assert dc.stats(key).requests["GetUsersRequest"] == 1


def test_a_key_the_server_does_not_know_is_revoked(dc) -> None:
    result = _check(dc, os.urandom(256))

    assert result.outcome == CheckOutcome.REVOKED
    assert "-404" in result.detail


def test_a_closed_port_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        endpoint = Endpoint("127.0.0.1", port, 2)
        result = asyncio.run(session_check(_record(os.urandom(256)), endpoint=endpoint, profile=PROFILE, timeout=3))

    assert result.outcome == CheckOutcome.NETWORK


def test_many_checks_share_one_event_loop(dc) -> None:
    keys = [os.urandom(256) for _ in range(40)]
    for key in keys:
        dc.add_key(key)
    endpoint = Endpoint("127.0.0.1", dc.port, 2)

    async def all_checks():
        return await asyncio.gather(
            *(session_check(_record(k), endpoint=endpoint, profile=PROFILE, timeout=10) for k in keys)
        )

    results = asyncio.run(all_checks())

    assert [r.outcome for r in results] == [CheckOutcome.OK] * 40


def test_the_dc_answers_ping_and_a_full_telegram_client_session(dc) -> None:
    from telethon import TelegramClient, functions, types
    from telethon.crypto import AuthKey
    from telethon.sessions import StringSession

    key = os.urandom(256)
    dc.add_key(key, user_id=7)

    async def session() -> tuple[int, int]:
        string = StringSession()
        string.set_dc(2, "127.0.0.1", dc.port)
        string.auth_key = AuthKey(key)
        client = TelegramClient(string, 12345, "0" * 32, receive_updates=False, flood_sleep_threshold=0)
        await asyncio.wait_for(client.connect(), 10)
        pong = await asyncio.wait_for(client(functions.PingRequest(ping_id=99)), 10)
        [me] = await asyncio.wait_for(client(functions.users.GetUsersRequest([types.InputUserSelf()])), 10)
        await client.disconnect()
        return pong.ping_id, me.id

    assert asyncio.run(session()) == (99, 7)
    assert dc.stats(key).requests["GetStateRequest"] == 1  # connect() asks for the update state
