"""The loopback DC: holds auth keys minted by the tests and answers Telethon as Telegram would.

Per auth key it can answer normally, after a delay, with an RPC error (AUTH_KEY_UNREGISTERED,
FLOOD_WAIT_30, a 500 ...), never, or by closing the connection mid-request. The scripted
behaviour applies to the account question (users.getUsers); connecting (initConnection with
getConfig), updates.getState, pings and acks are always answered. Unknown keys get the
transport error -404, as from Telegram.

Given its RSA private key, it also makes new auth keys by the real key exchange (handshake.py) and signs them
in by phone, code and two-step password (phones.py); such a key answers 401 AUTH_KEY_UNREGISTERED until it is
signed in. ``extra_dcs`` opens one more listener per DC id (help.getConfig lists them all), so a number that
lives in another DC moves there by PHONE_MIGRATE_X as on Telegram.
"""

from __future__ import annotations

import asyncio
import gzip
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from zlib import crc32

from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.tl import functions, types

from tests.mtproto_dc import replies, standing
from tests.mtproto_dc.crypto import client_message_decrypt, server_message_encrypt
from tests.mtproto_dc.handshake import Handshake, plain_message
from tests.mtproto_dc.phones import PhoneBook

MAX_PACKET = 1 << 20
NEEDS_SIGN_IN = (functions.users.GetUsersRequest, functions.updates.GetStateRequest,
                 functions.updates.GetDifferenceRequest)  # fmt: skip
WRAPPERS = (functions.InvokeWithLayerRequest, functions.InitConnectionRequest, functions.InvokeWithoutUpdatesRequest)


@dataclass(frozen=True)
class Behaviour:
    kind: str = "ok"  # ok, delay, error, silent, close
    seconds: float = 0.0
    code: int = 0
    message: str = ""

    @classmethod
    def error(cls, code: int, message: str) -> Behaviour:
        return cls("error", code=code, message=message)

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        """'ok', 'delay:2.5', 'silent', 'close', or an error such as '401:AUTH_KEY_UNREGISTERED'."""
        if text in ("ok", "silent", "close"):
            return cls(text)
        if text.startswith("delay:"):
            return cls("delay", seconds=float(text.split(":", 1)[1]))
        code, message = text.split(":", 1)
        return cls.error(int(code), message)


OK = Behaviour()
SILENT = Behaviour("silent")
CLOSE = Behaviour("close")


@dataclass
class KeyStats:
    connections: int = 0
    active: int = 0
    max_active: int = 0
    requests: Counter = field(default_factory=Counter)
    identities: list = field(default_factory=list)  # (api_id, device, system, app version, lang) of each InitConnection


@dataclass
class _Key:
    auth_key: AuthKey
    behaviour: Behaviour
    user_id: int | None  # None: made by a key exchange and not signed in (yet)
    stats: KeyStats = field(default_factory=KeyStats)
    dc_id: int | None = None  # the DC that made it (None: minted by a test, valid in every DC)
    awaiting_password: object = None  # the phone whose code was right, until its two-step password is
    standing: standing.Standing = field(default_factory=standing.Standing)  # what Telegram holds against it


class LoopbackDC:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, dc_id: int = 2, *, rsa_key=None,
                 extra_dcs: tuple[int, ...] = ()) -> None:  # fmt: skip
        self.host, self.port, self.dc_id = host, port, dc_id
        self.rsa_key, self.extra_dcs = rsa_key, extra_dcs
        self.ports: dict[int, int] = {}
        self.phones = PhoneBook()
        self.created: list[_Key] = []  # keys made by key exchange, in order
        self._keys: dict[int, _Key] = {}
        self._last_msg_id = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.peers: list[tuple[str, int]] = []  # the address of every connection, to prove which path it took
        self.country = "NL"  # what help.getNearestDc says of the caller's address (a test moves it)

    # --- scripting -------------------------------------------------------
    def add_key(self, key: bytes, behaviour: Behaviour = OK, user_id: int = 100_000) -> None:
        auth_key = AuthKey(key)
        self._keys[auth_key.key_id] = _Key(auth_key, behaviour, user_id)

    def script(self, key: bytes, behaviour: Behaviour) -> None:
        self._keys[AuthKey(key).key_id].behaviour = behaviour

    def standing(self, key: bytes) -> standing.Standing:
        """What Telegram holds against this key's account (script it before the deep check asks)."""
        return self._keys[AuthKey(key).key_id].standing

    def stats(self, key: bytes) -> KeyStats:
        return self._keys[AuthKey(key).key_id].stats

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # --- running ---------------------------------------------------------
    def created_stats(self, user_id: int) -> KeyStats:
        """The stats of the key made by key exchange and signed in as this user."""
        return next(k.stats for k in reversed(self.created) if k.user_id == user_id)

    async def serve(self) -> asyncio.Server:
        self._server = await asyncio.start_server(self._handler(self.dc_id), self.host, self.port, backlog=4096)
        self.port = self.ports[self.dc_id] = self._server.sockets[0].getsockname()[1]
        self._extra = []
        for dc_id in self.extra_dcs:
            server = await asyncio.start_server(self._handler(dc_id), self.host, 0)
            self.ports[dc_id] = server.sockets[0].getsockname()[1]
            self._extra.append(server)
        return self._server

    def _handler(self, dc_id: int):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._handle(reader, writer, dc_id)

        return handle

    def start(self) -> LoopbackDC:
        """Serve from a background thread (for pytest)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="loopback-dc", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("loopback DC did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            self._server.close()
            for server in self._extra:
                server.close()
            for writer in list(self._writers):
                writer.close()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> LoopbackDC:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- protocol --------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dc_id: int) -> None:
        self._writers.add(writer)
        self.peers.append(writer.get_extra_info("peername")[:2])
        entry: _Key | None = None
        handshake: Handshake | None = None
        send_seq = 0

        async def send_frame(payload: bytes) -> None:
            nonlocal send_seq
            frame = struct.pack("<ii", len(payload) + 12, send_seq) + payload
            writer.write(frame + struct.pack("<I", crc32(frame)))
            send_seq += 1
            await writer.drain()

        async def send(session_id: int, body: bytes) -> None:
            await send_frame(server_message_encrypt(entry.auth_key, session_id, self._new_msg_id(), 1, body))

        try:
            while True:
                header = await reader.readexactly(8)
                length, _seq = struct.unpack("<ii", header)
                if not 24 + 12 <= length <= MAX_PACKET:
                    return
                rest = await reader.readexactly(length - 8)
                packet, checksum = rest[:-4], struct.unpack("<I", rest[-4:])[0]
                if crc32(header + packet) != checksum:
                    return
                key_id = struct.unpack("<Q", packet[:8])[0]
                if key_id == 0 and entry is None and self.rsa_key is not None:  # making a new auth key
                    handshake = handshake or Handshake(self.rsa_key)
                    try:
                        reply = handshake.answer(BinaryReader(packet[20:]).tgread_object())
                    except Exception:  # anything malformed ends the connection, as on Telegram
                        await send_frame(struct.pack("<i", -404))
                        return
                    await send_frame(plain_message(self._new_msg_id(), reply))
                    made = handshake.auth_key()
                    if made is not None:
                        self._keys[made.key_id] = _Key(made, OK, None, dc_id=dc_id)
                        self.created.append(self._keys[made.key_id])
                        handshake = None
                    continue
                if entry is None:
                    entry = self._keys.get(key_id)
                    if entry is None:  # Telegram's "auth key not found"
                        await send_frame(struct.pack("<i", -404))
                        return
                    entry.stats.connections += 1
                    entry.stats.active += 1
                    entry.stats.max_active = max(entry.stats.max_active, entry.stats.active)
                if key_id != entry.auth_key.key_id:
                    return
                try:
                    session_id, msg_id, _seq_no, body = client_message_decrypt(entry.auth_key, packet)
                except ValueError:
                    return
                for inner_id, inner in _messages(msg_id, body):
                    reply = await self._answer(entry, inner_id, inner)
                    if reply is CLOSE:
                        return
                    if reply is not None:
                        await send(session_id, reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            if entry is not None:
                entry.stats.active -= 1
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, entry: _Key, msg_id: int, body: bytes) -> bytes | Behaviour | None:
        request = BinaryReader(body).tgread_object()
        while isinstance(request, WRAPPERS):
            entry.stats.requests[type(request).__name__] += 1
            if isinstance(request, functions.InitConnectionRequest):
                entry.stats.identities.append((request.api_id, request.device_model, request.system_version,
                                               request.app_version, request.lang_code))  # fmt: skip
            request = request.query
        name = type(request).__name__
        entry.stats.requests[name] += 1
        behaviour = entry.behaviour
        if behaviour.kind == "silent":
            return None
        if isinstance(request, functions.help.GetConfigRequest):
            return replies.rpc_result(msg_id, replies.config(entry.dc_id or self.dc_id, self.host, self.ports))
        if entry.user_id is not None:
            held = standing.answer(entry, msg_id, request)
            if held is not None:
                return held
        signing_in = self.phones.answer(self, entry, msg_id, request)
        if signing_in is not None:
            return signing_in
        if entry.user_id is None and isinstance(request, NEEDS_SIGN_IN):
            return replies.rpc_error(msg_id, 401, "AUTH_KEY_UNREGISTERED")

        if isinstance(request, functions.PingRequest | functions.PingDelayDisconnectRequest):
            return replies.pong(msg_id, request.ping_id)
        if isinstance(request, functions.help.GetNearestDcRequest):  # the country of the address it sees
            return replies.rpc_result(msg_id, types.NearestDc(self.country, self.dc_id, self.dc_id)._bytes())
        if isinstance(request, functions.updates.GetStateRequest):
            return replies.rpc_result(msg_id, replies.updates_state())
        if isinstance(request, functions.updates.GetDifferenceRequest):
            return replies.rpc_result(msg_id, replies.difference_empty())
        if isinstance(request, functions.users.GetUsersRequest):
            if behaviour.kind == "close":
                return CLOSE
            if behaviour.kind == "delay":
                await asyncio.sleep(behaviour.seconds)
            if behaviour.kind == "error":
                return replies.rpc_error(msg_id, behaviour.code, behaviour.message)
            return replies.rpc_result(msg_id, replies.vector([standing.self_user(entry)]))
        return replies.rpc_error(msg_id, 400, f"{name.upper()}_NOT_SUPPORTED_BY_LOOPBACK_DC")

    def _new_msg_id(self) -> int:
        now = (int(time.time() * 2**32) & ~3) | 1  # server responses: msg_id % 4 == 1
        self._last_msg_id = max(now, self._last_msg_id + 4)
        return self._last_msg_id


def _messages(msg_id: int, body: bytes):
    """Unpack containers and gzip; skip acks. Yields (msg_id, body) of each content message."""
    constructor = struct.unpack("<I", body[:4])[0]
    if constructor == replies.MSG_CONTAINER:
        count = struct.unpack("<i", body[4:8])[0]
        offset = 8
        for _ in range(count):
            inner_id, _seq, length = struct.unpack("<qii", body[offset : offset + 16])
            yield from _messages(inner_id, body[offset + 16 : offset + 16 + length])
            offset += 16 + length
    elif constructor == replies.GZIP_PACKED:
        yield from _messages(msg_id, gzip.decompress(BinaryReader(body[4:]).tgread_bytes()))
    elif constructor != replies.MSGS_ACK:
        yield msg_id, body
