"""What the account page shows beyond its fields: status timeline, check history chart, audit trail."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import AccountStanding, TelegramAccount
from accounts.permissions import account_permitted
from audit.models import AuditEvent
from project.console.charts import Point, scatter
from project.console.colours import FALLBACK, OUTCOME_COLOURS, STATUS_COLOURS

HISTORY_DAYS = 7
MAX_POINTS = 2000


def account_page(user, account: TelegramAccount, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    start = now - dt.timedelta(days=HISTORY_DAYS)
    checks = list(account.checks.filter(at__gte=start).order_by("-at")[:MAX_POINTS])
    points = [Point(c.at, c.latency_ms, c.outcome, f"{c.latency_ms} ms {c.detail}".strip()) for c in checks]
    timeline = [
        {"at": t.at, "from": t.get_from_status_display(), "to": t.get_to_status_display(),
         "colour": STATUS_COLOURS.get(t.to_status), "reason": t.reason}
        for t in account.transitions.all()[:25]
    ]  # fmt: skip
    outcomes = sorted({c.outcome for c in checks})
    # The axis spans the checks there are (an hour at least, 7 days at most), so a new account's few checks
    # spread over the chart rather than huddling at its right edge.
    first = min((c.at for c in checks), default=now)
    axis_start = max(start, min(first, now - dt.timedelta(hours=1)))
    axis_start -= (now - axis_start) * 0.03
    context = {
        "status_colour": STATUS_COLOURS.get(account.status),
        "timeline": timeline,
        "check_chart": scatter(points, OUTCOME_COLOURS, start=axis_start, end=now, unit="ms",
                               title=f"Checks of {account.label} (up to {HISTORY_DAYS} days): latency by outcome"),
        "check_legend": [{"outcome": o, "colour": OUTCOME_COLOURS.get(o, FALLBACK)} for o in outcomes],
        "check_count": len(checks),
        "recent_checks": checks[:10],
        "can_check": account_permitted(user, "check_account", account),
        "can_export": account_permitted(user, "export_session", account),
        "can_change": account_permitted(user, "change_telegramaccount", account),
        "standing": AccountStanding.objects.filter(account=account).first(),
        "can_read_audit": user.has_perm("audit.view_auditevent"),
    }  # fmt: skip
    if context["can_read_audit"]:
        trail = AuditEvent.objects.restrict(user).filter(
            target_type="accounts.telegramaccount", target_id=str(account.pk)
        )
        context["audit_trail"] = list(trail.order_by("-sequence")[:25])
    return context
