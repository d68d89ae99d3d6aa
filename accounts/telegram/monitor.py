"""The network monitor: TCP connect latency to each configured Telegram endpoint; a reachable one has its
circuit breaker closed (checks go through it again) and its "DC down" alert resolved."""

from __future__ import annotations

import asyncio
import time

from django.utils import timezone

from accounts.models import EndpointProbe
from accounts.telegram.breaker import address as breaker_address
from accounts.telegram.breaker import breaker_close
from accounts.telegram.endpoint import Endpoint, endpoints_configured
from alerts.services import alert_resolve


async def _probe(endpoint: Endpoint, timeout: float) -> tuple[bool, int | None, str]:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        writer.close()
        return True, int((time.monotonic() - started) * 1000), ""
    except TimeoutError:
        return False, None, f"no answer within {timeout:g}s"
    except OSError as exc:
        return False, None, exc.strerror or type(exc).__name__


def endpoints_probe(*, timeout: float = 5.0) -> list[EndpointProbe]:
    """Probe every configured endpoint; with no accounts there is nothing to reach, and nothing is dialled."""
    from accounts.models import TelegramAccount

    if not TelegramAccount.objects.exists():
        return []
    endpoints = endpoints_configured()

    async def all_probes():
        return await asyncio.gather(*(_probe(e, timeout) for e in endpoints))

    now = timezone.now()
    rows = []
    for endpoint, (reachable, latency, error) in zip(endpoints, asyncio.run(all_probes()), strict=True):
        row, _ = EndpointProbe.objects.update_or_create(
            endpoint=f"{endpoint.host}:{endpoint.port}",
            defaults={"reachable": reachable, "latency_ms": latency, "error": error[:200], "checked_at": now},
        )
        rows.append(row)
        if reachable:
            breaker_close(endpoint)
            alert_resolve(kind="telegram.dc_down", key=breaker_address(endpoint))
    return rows
