"""Is a proxy usable? Get through it to a Telegram address and time it; nothing else is sent.

SOCKS5 and HTTP CONNECT proxies are asked to open a tunnel to the DC's address (python-socks, as Telethon's own
connections do), so a proxy that is up but refuses our credentials or cannot reach Telegram is down for us.
An MTProxy only speaks Telegram's obfuscated protocol: its probe is a TCP connect (a check through it says more).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from python_socks import ProxyType
from python_socks.async_.asyncio import Proxy as SocksProxy

from accounts.telegram.endpoint import Endpoint
from accounts.telegram.proxy_url import MTPROXY, SOCKS5
from accounts.telegram.route import ProxyRoute


@dataclass(frozen=True)
class ProxyProbe:
    proxy_id: int
    up: bool
    latency_ms: int | None
    error: str = ""


async def proxy_probe(route: ProxyRoute, target: Endpoint, timeout: float) -> ProxyProbe:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            if route.kind == MTPROXY:
                _reader, writer = await asyncio.open_connection(route.host, route.port)
                writer.close()
            else:
                kind = ProxyType.SOCKS5 if route.kind == SOCKS5 else ProxyType.HTTP
                proxy = SocksProxy.create(kind, route.host, route.port, route.username or None,
                                          route.password or None, rdns=True)  # fmt: skip
                sock = await proxy.connect(dest_host=target.host, dest_port=target.port, timeout=timeout)
                sock.close()
    except TimeoutError:
        return ProxyProbe(route.proxy_id, False, None, "no answer in time")
    except Exception as exc:  # python-socks' errors, OSError: the message names the cause, never a password
        return ProxyProbe(route.proxy_id, False, None, f"{type(exc).__name__}: {str(exc)[:150]}")
    return ProxyProbe(route.proxy_id, True, int((time.monotonic() - started) * 1000))


async def proxies_probe_all(routes: list[ProxyRoute], target: Endpoint, timeout: float) -> list[ProxyProbe]:
    gate = asyncio.Semaphore(50)

    async def one(route: ProxyRoute) -> ProxyProbe:
        async with gate:
            return await proxy_probe(route, target, timeout)

    return await asyncio.gather(*(one(r) for r in routes))
