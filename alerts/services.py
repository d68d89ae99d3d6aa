"""alert_raise and alert_resolve: the only ways in. Each notification becomes an outbox row."""

from __future__ import annotations

import datetime as dt
import logging
import time
from html import escape

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.botapi import SendResult
from alerts.models import Alert, AlertState, Delivery, Notification, Route, Severity, Silence
from project.metrics import ALERTS

logger = logging.getLogger(__name__)
KICK_PAUSE_SECONDS = 30
_kick_paused_until = 0.0


def route_default() -> Route | None:
    """The route TELEGRAM_CHAT_ID describes: everything, from info up."""
    if not settings.TELEGRAM_CHAT_ID:
        return None
    route, _ = Route.objects.get_or_create(
        name="default", defaults={"chat_id": settings.TELEGRAM_CHAT_ID, "min_severity": Severity.INFO}
    )
    if route.chat_id != settings.TELEGRAM_CHAT_ID:
        _route_default_follow(route)
    return route


def _route_default_follow(route: Route) -> None:
    """TELEGRAM_CHAT_ID changed: the default route takes the new chat (enabled again if the old one had
    disabled it); recorded as the system's doing."""
    from audit.services import audit_record
    from project.actors import SystemActor

    old = route.chat_id
    with transaction.atomic():
        Route.objects.filter(pk=route.pk).update(chat_id=settings.TELEGRAM_CHAT_ID, enabled=True, disabled_reason="")
        audit_record(actor=SystemActor("settings"), action="alerts.route.default_chat", target=route,
                     details={"from": old, "to": settings.TELEGRAM_CHAT_ID})  # fmt: skip
    route.chat_id, route.enabled, route.disabled_reason = settings.TELEGRAM_CHAT_ID, True, ""
    logger.warning("Default alert route now sends to TELEGRAM_CHAT_ID %s (was %s)", route.chat_id, old)


def routes_for(kind: str, severity: int) -> list[Route]:
    route_default()
    return [route for route in Route.objects.filter(enabled=True) if route.matches(kind, severity)]


def alert_raise(*, kind: str, severity: int, key: str, summary: str, details: dict | None = None) -> Alert:
    now = timezone.now()
    fingerprint = f"{kind}:{key}"[:300]
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(fingerprint=fingerprint).first()
        refired = alert is None or alert.state == AlertState.RESOLVED
        if alert is None:
            alert = Alert(fingerprint=fingerprint, kind=kind, key=key, first_seen=now, count=0)
        if refired:
            alert.state, alert.resolved_at, alert.count, alert.first_seen = AlertState.FIRING, None, 0, now
            alert.acknowledged_at, alert.acknowledged_by = None, None
        alert.severity = max(alert.severity or 0, severity) if not refired else severity
        alert.summary, alert.details, alert.last_seen = summary[:500], details or {}, now
        alert.count += 1
        alert.save()
        silenced = _silenced(kind, key, now)
        for route in routes_for(kind, alert.severity):
            if refired:
                _notify(alert, route, "firing", now, silenced, cooling=_notified_within(alert, route, now))
            elif route.repeat_seconds and not _notified_within(alert, route, now, route.repeat_seconds):
                _notify(alert, route, "reminder", now, silenced, cooling=False)
            else:  # a repeat inside the cooldown: only the alert's count moves
                ALERTS.labels("suppressed").inc()
        if refired:
            transaction.on_commit(_kick_delivery)
    return alert


def alert_notice(
    *, kind: str, key: str, summary: str, details: dict | None = None, severity: int = Severity.INFO
) -> Alert:
    """Something to tell once, not a condition that fires: one notification per matching route, and the
    alert is resolved from the start (it never counts as firing). The same kind and key tell only once."""
    now = timezone.now()
    with transaction.atomic():
        alert, created = Alert.objects.get_or_create(
            fingerprint=f"{kind}:{key}"[:300],
            defaults={"kind": kind, "key": key, "severity": severity, "summary": summary[:500],
                      "details": details or {}, "state": AlertState.RESOLVED, "first_seen": now, "last_seen": now,
                      "resolved_at": now},
        )  # fmt: skip
        if created:
            silenced = _silenced(kind, key, now)
            for route in routes_for(kind, severity):
                _notify(alert, route, "notice", now, silenced, cooling=False)
            transaction.on_commit(_kick_delivery)
    return alert


def alert_resolve(*, kind: str, key: str) -> Alert | None:
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(fingerprint=f"{kind}:{key}"[:300]).first()
        if alert is None or alert.state == AlertState.RESOLVED:
            return alert
        alert.state, alert.resolved_at = AlertState.RESOLVED, now
        alert.save(update_fields=["state", "resolved_at"])
        told = Notification.objects.filter(alert=alert, event__in=("firing", "reminder"))
        # Not yet sent: say nothing at all, rather than "down" and "up" in one breath.
        unsent = told.filter(state=Delivery.PENDING)
        unsent.update(state=Delivery.SUPPRESSED, last_error="resolved before it was sent")
        for route in Route.objects.filter(pk__in=told.filter(state=Delivery.SENT).values("route_id"), enabled=True):
            _notify(alert, route, "resolved", now, silenced=False, cooling=False)
        transaction.on_commit(_kick_delivery)
    return alert


def _notify(alert: Alert, route: Route, event: str, now: dt.datetime, silenced: bool, cooling: bool) -> None:
    state = Delivery.SILENCED if silenced else Delivery.SUPPRESSED if cooling else Delivery.PENDING
    ALERTS.labels({Delivery.PENDING: "raised"}.get(state, str(state))).inc()
    Notification.objects.create(alert=alert, route=route, event=event, state=state, created_at=now, next_attempt_at=now)


def _notified_within(alert: Alert, route: Route, now: dt.datetime, seconds: int | None = None) -> bool:
    window = dt.timedelta(seconds=route.cooldown_seconds if seconds is None else seconds)
    return Notification.objects.filter(
        alert=alert, route=route, event__in=("firing", "reminder"), created_at__gte=now - window,
        state__in=(Delivery.PENDING, Delivery.CLAIMED, Delivery.IN_FLIGHT, Delivery.SENT),
    ).exists()  # fmt: skip


def _silenced(kind: str, key: str, now: dt.datetime) -> bool:
    return any(silence.covers(kind, key) for silence in Silence.objects.filter(until__gt=now))


def _kick_delivery() -> None:
    """Ask a worker to sweep once the digest window has passed; the beat sweep covers a broker outage."""
    from django.core.cache import cache

    from alerts.tasks import deliver_task

    global _kick_paused_until
    if not settings.ALERT_DELIVERY_KICK or time.monotonic() < _kick_paused_until:
        return
    # False: kicked within this window already (the sweep takes everything pending). None: the cache
    # is down (django-redis ignores its errors), most likely with the broker; try, and say so if it fails.
    if cache.add("alerts:kicked", "1", timeout=max(1, settings.ALERT_DIGEST_WINDOW_SECONDS)) is False:
        return
    try:
        deliver_task.apply_async(countdown=settings.ALERT_DIGEST_WINDOW_SECONDS, retry=False)
    except Exception as exc:
        logger.warning("Could not queue alert delivery (%s); the periodic sweep will send it", type(exc).__name__)


def alert_test_send(*, actor, route: Route) -> SendResult:
    """Send a test message to a route now; needs alerts.send_test, and is audited."""
    from django.core.exceptions import PermissionDenied

    from alerts.botapi import bot_message_send
    from audit.services import audit_denied, audit_record

    if not actor.has_perm("alerts.send_test"):
        audit_denied(actor=actor, action="alerts.test", target=route)
        raise PermissionDenied("you may not send test alerts")
    with transaction.atomic():
        audit_record(actor=actor, action="alerts.test", target=route)
    text = f"✅ <b>tgfleet test</b>: route {escape(route.name)} reaches this chat."
    result = bot_message_send(chat_id=route.chat_id, text=text, thread_id=route.thread_id)
    now = timezone.now()
    if not result.ok:
        Route.objects.filter(pk=route.pk).update(last_error=result.error[:300], last_error_at=now)
    return result


def alerts_acknowledge(*, actor, alerts) -> int:
    """Mark firing alerts as seen by ``actor`` (who and when), each audited; only alerts they may acknowledge.
    Returns how many were acknowledged now (already acknowledged or resolved ones are left as they are)."""
    from audit.services import audit_denied, audit_record

    chosen = Alert.objects.restrict(actor, "acknowledge").filter(pk__in=[a.pk for a in alerts])
    refused = {a.pk for a in alerts} - set(chosen.values_list("pk", flat=True))
    for pk in sorted(refused):
        audit_denied(actor=actor, action="alerts.acknowledge", target_type="alerts.alert", target_id=str(pk),
                     details={"reason": "not permitted"})  # fmt: skip
    now = timezone.now()
    done = 0
    with transaction.atomic():
        for alert in chosen.select_for_update().filter(state=AlertState.FIRING, acknowledged_at__isnull=True):
            alert.acknowledged_at, alert.acknowledged_by = now, actor
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(actor=actor, action="alerts.acknowledge", target=alert, details={"kind": alert.kind})
            done += 1
    return done
