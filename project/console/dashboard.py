"""What the fleet dashboard shows a user: only accounts and alerts that user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.checks.history import hour_of, hourly_counts
from accounts.models import AccountStanding, AccountStatus, TelegramAccount
from accounts.permissions import has_single_grants, sees_all_accounts, team_ids_of
from alerts.models import Alert
from health.runner import health_report
from project.console.charts import Bucket, stacked_bars
from project.console.colours import FALLBACK, HEALTH_COLOURS, OUTCOME_COLOURS, STATUS_COLOURS

ATTENTION = (AccountStatus.BANNED, AccountStatus.UNAUTHORIZED, AccountStatus.OFFLINE, AccountStatus.FLOOD_WAIT,
             AccountStatus.UNCERTAIN)  # fmt: skip
HOURS = 24


def dashboard_for(user, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    accounts = TelegramAccount.objects.restrict(user)
    tiles = _status_tiles(accounts)
    context: dict = {"status_tiles": tiles, "standing_tiles": _standing_tiles(user, accounts), "health": _health()}
    if user.has_perm("accounts.view_telegramaccount") or user.is_superuser:
        context["check_chart"], context["check_totals"] = _check_chart(user, now)
        context["attention"] = [(a, STATUS_COLOURS[a.status]) for a in _attention(accounts, 10)]
        context["attention_count"] = sum(tile["count"] for tile in tiles if tile["status"] in ATTENTION)
    if user.has_perm("alerts.view_alert"):
        context["recent_alerts"] = list(Alert.objects.restrict(user).order_by("-last_seen")[:8])
    return context


STANDING_TILES = (  # (label, which standings count, the account list's query string), by what the deep check found
    ("Spam-blocked", Q(spam_blocked=True), "standing__spam_blocked__exact=1"),
    ("Frozen", Q(frozen=True), "standing__frozen__exact=1"),
    ("Restricted, scam or fake", Q(restricted=True) | Q(scam=True) | Q(fake=True), "standing=flagged"),
    ("Other sessions", Q(other_sessions__gt=0), "standing=other_sessions"),
)


def _attention(accounts, limit: int) -> list[TelegramAccount]:
    """The worst first, most recently changed first within a status: one short walk of the (status, updated_at)
    index per status until ``limit`` are found, rather than sorting every account that needs attention."""
    found: list[TelegramAccount] = []
    for status in ATTENTION:
        if len(found) >= limit:
            break
        rows = accounts.filter(status=status).select_related("team").order_by("-updated_at", "-pk")
        found += rows[: limit - len(found)]
    return found


def _standing_tiles(user, accounts) -> list[dict]:
    """Counted over the deep checks' standings (only accounts deep-checked have one), of the accounts in sight."""
    standings = AccountStanding.objects.all()
    if not sees_all_accounts(user):
        standings = standings.filter(account__in=accounts)
    tiles = {str(i): Count("pk", filter=which) for i, (_label, which, _query) in enumerate(STANDING_TILES)}
    counts = standings.order_by().aggregate(**tiles)
    changelist = reverse("admin:accounts_telegramaccount_changelist")
    return [{"label": label, "count": counts[str(i)], "url": f"{changelist}?{query}"}
            for i, (label, _where, query) in enumerate(STANDING_TILES)]  # fmt: skip


def _status_tiles(accounts) -> list[dict]:
    counts = dict(accounts.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    changelist = reverse("admin:accounts_telegramaccount_changelist")
    return [
        {"status": status, "label": label, "count": counts.get(status, 0), "colour": STATUS_COLOURS[status],
         "url": f"{changelist}?status__exact={status}"}
        for status, label in AccountStatus.choices
    ]  # fmt: skip


def _check_chart(user, now: dt.datetime):
    start = hour_of(now) - dt.timedelta(hours=HOURS - 1)
    hours = [start + dt.timedelta(hours=i) for i in range(HOURS)]
    per_hour = _hourly_checks(user, start)
    totals: dict[str, int] = {}
    buckets = []
    for hour in hours:
        counts, latency_sum = per_hour.get(hour, ({}, 0))
        n = sum(counts.values())
        buckets.append(Bucket(timezone.localtime(hour), counts, latency_sum / n if n else None))
        for outcome, count in counts.items():
            totals[outcome] = totals.get(outcome, 0) + count
    chart = stacked_bars(buckets, OUTCOME_COLOURS, title="Checks per hour, last 24 hours, and their average latency",
                         unit="checks", line_unit="ms")  # fmt: skip
    legend = [{"outcome": o, "count": n, "colour": OUTCOME_COLOURS.get(o, FALLBACK)} for o, n in sorted(totals.items())]
    return chart, legend


def _hourly_checks(user, first: dt.datetime) -> dict[dt.datetime, tuple[dict[str, int], int]]:
    """(counts by outcome, latency sum) per hour: from the hourly counts of every team (those who see every
    account) or of the user's teams; an account granted to this user alone, outside those teams, adds its own
    records (kept longer than the chart's day)."""
    if sees_all_accounts(user):
        return hourly_counts(first, team_ids=None)
    team_ids = team_ids_of(user)
    alone = TelegramAccount.objects.restrict(user).exclude(team_id__in=team_ids) if has_single_grants(user) else None
    return hourly_counts(first, team_ids=team_ids, also_accounts=alone)


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
