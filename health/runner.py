"""Run every check in parallel, each under its timeout; cache the result briefly."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from health.checks import BUILTIN, Finding, HealthCheck, Status

CACHE_KEY = "health:report"
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
_local: tuple[float, HealthReport] | None = None  # (monotonic expiry, report), set below


@dataclass(frozen=True)
class ComponentReport:
    name: str
    status: str
    critical: bool
    message: str
    duration_ms: int
    details: dict


@dataclass(frozen=True)
class HealthReport:
    status: str
    components: list[ComponentReport]
    checked_at: float

    def as_dict(self, *, detailed: bool) -> dict:
        doc: dict = {"status": self.status, "checked_at": self.checked_at}
        if detailed:
            doc["components"] = [asdict(c) for c in self.components]
        return doc


def health_report(*, use_cache: bool = True, checks: tuple[type[HealthCheck], ...] = BUILTIN) -> HealthReport:
    """The latest report: this process's copy, else the shared cache's, else a fresh run."""
    global _local
    now = time.monotonic()
    if use_cache and _local is not None and _local[0] > now:
        return _local[1]
    report = cache.get(CACHE_KEY) if use_cache else None
    if report is None:
        report = _run([check() for check in checks])
        cache.set(CACHE_KEY, report, settings.HEALTH_CACHE_SECONDS)
    # Kept in memory for the rest of the period: /health stays as cheap as a bare view under load.
    remaining = settings.HEALTH_CACHE_SECONDS - (time.time() - report.checked_at)
    _local = (now + remaining, report) if remaining > 0 else None
    return report


def _run(checks: list[HealthCheck]) -> HealthReport:
    started = time.monotonic()
    futures = {check.name: _POOL.submit(_guarded, check) for check in checks}
    components = []
    for check in checks:
        remaining = max(0.0, started + check.timeout - time.monotonic())
        try:
            finding, seconds = futures[check.name].result(timeout=remaining)
        except FutureTimeout:
            finding, seconds = Finding(False, f"no answer within {check.timeout:g}s"), check.timeout
        if finding.ok:
            status = Status.DEGRADED if finding.warn else Status.HEALTHY
        else:
            status = Status.UNHEALTHY if check.critical else Status.DEGRADED
        components.append(
            ComponentReport(
                check.name, str(status), check.critical, finding.message, int(seconds * 1000), finding.details
            )
        )
    return HealthReport(_overall([c.status for c in components]), components, time.time())


def _guarded(check: HealthCheck) -> tuple[Finding, float]:
    """(finding, seconds it took), timed in the check's own thread; a failure is a finding, not a crash."""
    started = time.monotonic()
    try:
        return check.run(), time.monotonic() - started
    except Exception as exc:
        text = re.sub(r"://[^@/\s]+@", "://***@", str(exc))[:200]  # no credentials from URLs in messages
        return Finding(False, f"{type(exc).__name__}: {text}"), time.monotonic() - started
    finally:
        connections.close_all()  # each check's thread has its own connection; don't leak it


def _overall(statuses: list[str]) -> str:
    if not statuses:
        return Status.UNKNOWN
    if Status.UNHEALTHY in statuses:
        return Status.UNHEALTHY
    if Status.DEGRADED in statuses:
        return Status.DEGRADED
    return Status.HEALTHY
