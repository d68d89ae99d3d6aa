"""tgfleet's own Prometheus metrics, and /metrics.

Counters and histograms are written wherever the work happens (web, prefork workers);
with PROMETHEUS_MULTIPROC_DIR set, each process writes its own file and the exporters
merge them, so nothing is lost to prefork children and no series carries a hostname.
Gauges that describe the fleet (accounts by status, health, outbox) are read from the
database at scrape time. No label grows with the number of accounts or users.
"""

from __future__ import annotations

import hmac
import os
from bisect import bisect_left

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CHECK_OUTCOMES = Counter("tgfleet_check_outcomes_total", "Account checks by outcome", ["outcome"])
CHECK_SECONDS = Histogram(
    "tgfleet_check_duration_seconds", "How long one account check took",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
)  # fmt: skip
VAULT_OPERATIONS = Counter("tgfleet_vault_operations_total", "Vault operations", ["operation"])
ALERTS = Counter("tgfleet_alerts_total", "Alert notifications by what became of them", ["event"])
DELIVERY_SECONDS = Histogram(
    "tgfleet_alert_delivery_latency_seconds", "From an alert's outbox row to its message",
    buckets=(1, 2, 5, 10, 15, 30, 60, 120, 300, 900),
)  # fmt: skip
AUTH_FAILURES = Counter("tgfleet_auth_failures_total", "Refused authentications not recorded in the trail", ["kind"])
BOTAPI_RATE_LIMITED = Counter("tgfleet_botapi_rate_limited_total", "Bot API 429 answers")
TASKS = Counter("tgfleet_celery_tasks_total", "Celery tasks by state", ["task", "state"])
TASK_RUNTIME = Histogram(
    "tgfleet_celery_task_runtime_seconds", "Celery task run time", ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)  # fmt: skip
TASK_QUEUE_WAIT = Histogram(
    "tgfleet_celery_task_queue_wait_seconds", "From a task's publication to its start", ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip

HEALTH_VALUE = {"healthy": 1.0, "degraded": 0.5, "unhealthy": 0.0, "unknown": -1.0}


class FleetCollector:
    """Gauges read at scrape time: one cheap grouped query each."""

    def collect(self):
        from django.db.models import Count

        from accounts.models import AccountStatus, TelegramAccount
        from alerts.models import Delivery, Notification
        from health.models import ComponentState

        accounts = GaugeMetricFamily("tgfleet_accounts", "Accounts by status", labels=["status"])
        counts = dict(TelegramAccount.objects.values_list("status").annotate(n=Count("pk")))
        for status in AccountStatus.values:
            accounts.add_metric([status], counts.get(status, 0))
        yield accounts
        outbox = GaugeMetricFamily("tgfleet_alert_outbox", "Alert notifications by delivery state", labels=["state"])
        states = dict(Notification.objects.values_list("state").annotate(n=Count("pk")))
        for state in (Delivery.PENDING, Delivery.CLAIMED, Delivery.IN_FLIGHT, Delivery.UNCONFIRMED):
            outbox.add_metric([state], states.get(state, 0))
        yield outbox
        yield _standing_gauge()
        yield from _proxy_gauges()
        # The health watch's last result per component, from the database: the same in every process and
        # every scrape; its age says whether the watch still runs.
        health = GaugeMetricFamily(
            "tgfleet_health_component", "Last health result: 1 healthy, 0.5 degraded, 0 unhealthy", labels=["component"]
        )
        checked = GaugeMetricFamily(
            "tgfleet_health_checked_timestamp_seconds", "When the health watch last checked the component",
            labels=["component"],
        )  # fmt: skip
        for name, status, at in ComponentState.objects.values_list("name", "status", "checked_at"):
            health.add_metric([name], HEALTH_VALUE.get(status, -1.0))
            checked.add_metric([name], at.timestamp())
        yield health
        yield checked


def _standing_gauge() -> GaugeMetricFamily:
    """Accounts per restriction the deep check found (one grouped query); `unknown_*`: it could not tell."""
    from django.db.models import Count, Q

    from accounts.models import AccountStanding

    kinds = {"spam_blocked": Q(spam_blocked=True), "frozen": Q(frozen=True), "restricted": Q(restricted=True),
             "scam": Q(scam=True), "fake": Q(fake=True), "other_sessions": Q(other_sessions__gt=0),
             "two_step_off": Q(two_step=False), "unknown_spam": Q(spam_blocked__isnull=True),
             "unknown_frozen": Q(frozen__isnull=True)}  # fmt: skip
    counts = AccountStanding.objects.aggregate(**{f"n_{name}": Count("pk", filter=q) for name, q in kinds.items()})
    gauge = GaugeMetricFamily("tgfleet_accounts_restricted", "Accounts by what the deep check found",
                              labels=["restriction"])  # fmt: skip
    for name in kinds:
        gauge.add_metric([name], counts[f"n_{name}"])
    return gauge


MAX_PROXY_SERIES = 500  # a label per proxy, bounded: the rest are summed in tgfleet_proxies


def _proxy_gauges():
    from django.db.models import Count

    from accounts.models import Proxy, ProxyStatus

    up = GaugeMetricFamily("tgfleet_proxy_up", "Proxy usable at its last test (1) or not (0)", labels=["proxy"])
    latency = GaugeMetricFamily("tgfleet_proxy_latency_seconds", "Time to get through the proxy to Telegram",
                                labels=["proxy"])  # fmt: skip
    carried = GaugeMetricFamily("tgfleet_proxy_accounts", "Accounts that go through the proxy", labels=["proxy"])
    rows = (Proxy.objects.filter(enabled=True).annotate(n=Count("accounts")).order_by("-n", "pk")
            .values_list("pk", "status", "latency_ms", "n"))  # fmt: skip
    totals = GaugeMetricFamily("tgfleet_proxies", "Enabled proxies by status", labels=["status"])
    by_status: dict[str, int] = {}
    for i, (pk, status, latency_ms, n) in enumerate(rows):
        by_status[status] = by_status.get(status, 0) + 1
        if i >= MAX_PROXY_SERIES:
            continue
        up.add_metric([str(pk)], 1.0 if status == ProxyStatus.UP else 0.0)
        if latency_ms is not None:
            latency.add_metric([str(pk)], latency_ms / 1000)
        carried.add_metric([str(pk)], n)
    for status in ProxyStatus.values:
        totals.add_metric([status], by_status.get(status, 0))
    yield from (up, latency, carried, totals)


class _Registered:
    """The process's default registry (django-prometheus's metrics and ours) as one collector."""

    def collect(self):
        yield from REGISTRY.collect()


def histogram_observe_many(histogram: Histogram, amounts: list[float]) -> None:
    """``histogram.observe(a)`` for each of ``amounts``, with each bucket and the sum written once: under
    PROMETHEUS_MULTIPROC_DIR every observation is two locked writes to a memory-mapped file, and a check batch
    observed hundreds. (prometheus_client has no call for many; this uses its histogram's own bucket values.)"""
    if not amounts:
        return
    bounds = histogram._upper_bounds  # ascending, the last +Inf: as observe() finds a bucket, by the first bound >=
    counts = [0] * len(bounds)
    for amount in amounts:
        counts[bisect_left(bounds, amount)] += 1
    histogram._raise_if_not_observable()
    histogram._sum.inc(sum(amounts))
    for bucket, n in zip(histogram._buckets, counts, strict=True):
        if n:
            bucket.inc(n)


def metrics_registry(*, fleet: bool = True) -> CollectorRegistry:
    """What one exporter serves; only the web's includes the fleet gauges, so none is scraped twice."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Registered())
    if fleet:
        registry.register(FleetCollector())
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


def _metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    """Fleet size, exports and traffic are nobody's business but Prometheus': a bearer token, or nothing."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("/metrics is off: set METRICS_TOKEN and give Prometheus the same bearer token\n",
                            status=403, content_type="text/plain")  # fmt: skip
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    refusal = HttpResponse("/metrics needs the bearer token (METRICS_TOKEN)\n", status=401, content_type="text/plain")
    refusal["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return refusal
