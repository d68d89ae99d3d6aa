"""What the fleet dashboard shows a user: only accounts and alerts that user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountStatus, CheckRecord
from accounts.selectors import accounts_visible_to
from alerts.models import Alert
from health.runner import health_report
from project.console.charts import Bucket, stacked_bars
from project.console.colours import FALLBACK, HEALTH_COLOURS, OUTCOME_COLOURS, STATUS_COLOURS

ATTENTION = (AccountStatus.BANNED, AccountStatus.UNAUTHORIZED, AccountStatus.OFFLINE, AccountStatus.FLOOD_WAIT,
             AccountStatus.UNCERTAIN)  # fmt: skip
HOURS = 24


def dashboard_for(user, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    accounts = accounts_visible_to(user)
    context: dict = {"status_tiles": _status_tiles(accounts), "health": _health()}
    if user.has_perm("accounts.view_telegramaccount") or user.is_superuser:
        context["check_chart"], context["check_totals"] = _check_chart(accounts, now)
        rank = {status: i for i, status in enumerate(ATTENTION)}
        attention = list(accounts.filter(status__in=ATTENTION).select_related("team").order_by("-updated_at")[:50])
        attention.sort(key=lambda a: rank[a.status])
        context["attention"] = [(a, STATUS_COLOURS[a.status]) for a in attention[:10]]
        context["attention_count"] = accounts.filter(status__in=ATTENTION).count()
    if user.has_perm("alerts.view_alert"):
        context["recent_alerts"] = list(Alert.objects.order_by("-last_seen")[:8])
    return context


def _status_tiles(accounts) -> list[dict]:
    counts = dict(accounts.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    changelist = reverse("admin:accounts_telegramaccount_changelist")
    return [
        {"status": status, "label": label, "count": counts.get(status, 0), "colour": STATUS_COLOURS[status],
         "url": f"{changelist}?status__exact={status}"}
        for status, label in AccountStatus.choices
    ]  # fmt: skip


def _check_chart(accounts, now: dt.datetime):
    start = timezone.localtime(now - dt.timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        CheckRecord.objects.filter(at__gte=start, account__in=accounts)
        .annotate(hour=TruncHour("at"))
        .values("hour", "outcome")
        .annotate(n=Count("pk"), latency=Avg("latency_ms"))
        .order_by("hour")
    )
    counts: dict[dt.datetime, dict[str, int]] = {}
    latency_sum: dict[dt.datetime, float] = {}
    totals: dict[str, int] = {}
    for row in rows:
        hour = row["hour"]
        counts.setdefault(hour, {})[row["outcome"]] = row["n"]
        latency_sum[hour] = latency_sum.get(hour, 0) + (row["latency"] or 0) * row["n"]
        totals[row["outcome"]] = totals.get(row["outcome"], 0) + row["n"]
    buckets = []
    for i in range(HOURS):
        hour = start + dt.timedelta(hours=i)
        n = sum(counts.get(hour, {}).values())
        buckets.append(Bucket(hour, counts.get(hour, {}), latency_sum[hour] / n if n else None))
    chart = stacked_bars(buckets, OUTCOME_COLOURS, title="Checks per hour, last 24 hours, and their average latency",
                         unit="checks", line_unit="ms")  # fmt: skip
    legend = [{"outcome": o, "count": n, "colour": OUTCOME_COLOURS.get(o, FALLBACK)} for o, n in sorted(totals.items())]
    return chart, legend


def _health() -> dict:
    report = health_report()
    return {
        "status": report.status,
        "colour": HEALTH_COLOURS.get(report.status),
        "components": [
            {"name": c.name, "status": c.status, "message": c.message, "colour": HEALTH_COLOURS.get(c.status)}
            for c in report.components
        ],
    }
