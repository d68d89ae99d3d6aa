"""Loopback proxies for tests: SOCKS5 (RFC 1928, username/password per RFC 1929) and HTTP CONNECT, on asyncio in
a background thread, in front of the loopback DC. Each counts its connections, remembers the local address of
every connection it opened onward (so a test can match them with the DC's peers), and can be told to refuse
credentials, drop connections at once, or stall (accept and never answer)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import struct
import threading


class LoopbackProxy:
    kind = ""

    def __init__(self, username: str = "", password: str = "") -> None:
        self.username, self.password = username, password
        self.host, self.port = "127.0.0.1", 0
        self.mode = "serve"  # or "drop", "stall"
        self.accepted = 0
        self.onward: list[tuple[str, int]] = []  # local addresses of connections made to the destination
        self.refused_auth = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        auth = f"{self.username}:{self.password}@" if self.username else ""
        return f"{self.kind}://{auth}{self.host}:{self.port}"

    def __enter__(self) -> LoopbackProxy:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"loopback-{self.kind}", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("loopback proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the listening socket and every relayed connection: the proxy is dead."""
        if self._loop is None or not self._loop.is_running():
            return

        async def shutdown() -> None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.sleep(0)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            if self.mode == "drop":
                return
            if self.mode == "stall":
                await asyncio.sleep(3600)
                return
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader, writer) -> None:
        target = await self._negotiate(reader, writer)
        if target is None:
            return
        up_reader, up_writer = await self._onward(*target)
        await self._granted(writer)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _onward(self, host: str, port: int):
        up_reader, up_writer = await asyncio.open_connection(host, port)
        self.onward.append(up_writer.get_extra_info("sockname")[:2])
        return up_reader, up_writer

    async def _negotiate(self, reader, writer) -> tuple[str, int] | None:
        raise NotImplementedError

    async def _granted(self, writer) -> None:
        raise NotImplementedError


class LoopbackSocks5(LoopbackProxy):
    kind = "socks5"

    async def _negotiate(self, reader, writer) -> tuple[str, int] | None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 2 if self.username else 0
        if version != 5 or wanted not in methods:
            writer.write(b"\x05\xff")
            return None
        writer.write(bytes([5, wanted]))
        if wanted == 2:
            _ver, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode()
            (plen,) = await reader.readexactly(1)
            password = (await reader.readexactly(plen)).decode()
            if (user, password) != (self.username, self.password):
                self.refused_auth += 1
                writer.write(b"\x01\x01")
                return None
            writer.write(b"\x01\x00")
        _ver, command, _rsv, atyp = await reader.readexactly(4)
        if atyp == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 3:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode()
        else:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        (port,) = struct.unpack(">H", await reader.readexactly(2))
        if command != 1:
            writer.write(b"\x05\x07\x00\x01" + bytes(6))
            return None
        return host, port

    async def _granted(self, writer) -> None:
        writer.write(b"\x05\x00\x00\x01" + bytes(4) + bytes(2))
        await writer.drain()


class LoopbackHttpConnect(LoopbackProxy):
    kind = "http"

    async def _negotiate(self, reader, writer) -> tuple[str, int] | None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request, *headers = head.split("\r\n")
        method, target, _version = request.split(" ", 2)
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return None
        if self.username:
            given = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in headers if h)}
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            if given.get("proxy-authorization") != f"Basic {token}":
                self.refused_auth += 1
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                return None
        host, _, port = target.rpartition(":")
        return host.strip("[]"), int(port)

    async def _granted(self, writer) -> None:
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()


class LoopbackMTProxy(LoopbackProxy):
    """An MTProxy as Telegram's own speaks to clients: the obfuscated2 handshake keyed with the secret, then padded
    intermediate packets (the only codec Telethon's MTProxy connection uses), relayed to the loopback DC in its
    TCP-full framing. A wrong secret decrypts to a wrong protocol tag: the proxy hangs up, as real ones do."""

    kind = "mtproxy"

    def __init__(self, secret: str, dc: tuple[str, int]) -> None:
        super().__init__()
        self.secret, self.dc = secret, dc
        self.wrong_secret = 0

    @property
    def url(self) -> str:
        return f"mtproxy://{self.secret}@{self.host}:{self.port}"

    async def _serve(self, reader, writer) -> None:
        import hashlib
        import zlib

        from telethon.crypto import AESModeCTR

        secret = bytes.fromhex(self.secret)[-16:]
        init = await reader.readexactly(64)
        mirrored = init[55:7:-1]
        from_client = AESModeCTR(hashlib.sha256(init[8:40] + secret).digest(), init[40:56])
        to_client = AESModeCTR(hashlib.sha256(mirrored[:32] + secret).digest(), mirrored[32:48])
        if from_client.encrypt(init)[56:60] != b"\xdd" * 4:
            self.wrong_secret += 1
            return
        up_reader, up_writer = await self._onward(*self.dc)

        async def upward() -> None:
            seq = 0
            while True:
                (length,) = struct.unpack("<i", from_client.encrypt(await reader.readexactly(4)))
                data = from_client.encrypt(await reader.readexactly(length & 0x7FFFFFFF))
                data = data[: len(data) - len(data) % 4]
                frame = struct.pack("<ii", len(data) + 12, seq) + data
                up_writer.write(frame + struct.pack("<I", zlib.crc32(frame)))
                await up_writer.drain()
                seq += 1

        async def downward() -> None:
            while True:
                length, _seq = struct.unpack("<ii", await up_reader.readexactly(8))
                packet = (await up_reader.readexactly(length - 8))[:-4]
                writer.write(to_client.encrypt(struct.pack("<i", len(packet)) + packet))
                await writer.drain()

        try:
            await asyncio.gather(upward(), downward())
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


def main() -> None:
    """Standalone proxies for benchmarks: python -m tests.proxies --count N [--kind socks5|http]; prints one line
    'listening on PORT PORT ...' once every proxy is up, and serves until killed."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="loopback proxies")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--kind", choices=["socks5", "http"], default="socks5")
    parser.add_argument("--username", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    cls = LoopbackSocks5 if args.kind == "socks5" else LoopbackHttpConnect
    proxies = [cls(args.username, args.password).__enter__() for _ in range(args.count)]
    print("listening on " + " ".join(str(p.port) for p in proxies), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    for proxy in proxies:
        proxy.stop()


if __name__ == "__main__":
    main()
