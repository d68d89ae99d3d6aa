"""Delivering the outbox: claim, digest per chat, pace, send, and account for every row.

A row is claimed with a conditional update; just before its message goes on the wire it is
marked in flight (committed). A sweep that dies leaves claimed rows (taken back later and
sent) or in-flight rows (never sent again: marked unconfirmed). So no row is sent twice,
and none is dropped before it reached Telegram.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.botapi import SendResult, bot_message_send
from alerts.digest import Part, digest_render
from alerts.models import ChatPace, Delivery, Notification, Route, Severity
from project.metrics import ALERTS, BOTAPI_RATE_LIMITED, DELIVERY_SECONDS
from project.retry import Backoff, RetryPolicy

logger = logging.getLogger(__name__)
UNKNOWN_ERROR_ATTEMPTS = 3  # an unplaceable 4xx disables a route only after this many tries
RETRY = RetryPolicy(Backoff.EXPONENTIAL, base_seconds=5, max_seconds=600, max_attempts=8, jitter=0.2)
GROUP_PER_MINUTE = 10  # Telegram allows 20 a minute in a group; a storm should read calmly
PRIVATE_GAP = 1.0
GLOBAL_PER_SECOND = 30


@dataclass
class SweepReport:
    sent_messages: int = 0
    sent_rows: int = 0
    retried_rows: int = 0
    failed_rows: int = 0
    taken_back: int = 0
    unconfirmed: int = 0


def deliver_sweep(*, budget_seconds: float = 45.0) -> SweepReport:
    report = SweepReport()
    if not settings.TELEGRAM_BOT_TOKEN:  # nothing is claimed: every row waits, and goes out once a token is set
        _no_token_warn()
        return report
    deadline = time.monotonic() + budget_seconds
    _recover_stale(report)
    now = timezone.now()
    window = dt.timedelta(seconds=settings.ALERT_DIGEST_WINDOW_SECONDS)
    pending = (
        Notification.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now, route__enabled=True)
        .select_related("route")
        .order_by("created_at", "pk")
    )
    chats: dict[tuple[str, int | None], list[int]] = defaultdict(list)
    oldest: dict[tuple[str, int | None], dt.datetime] = {}
    for pk, chat, thread, created in pending.values_list("pk", "route__chat_id", "route__thread_id", "created_at"):
        chats[(chat, thread)].append(pk)
        oldest.setdefault((chat, thread), created)
    for chat_key, ids in chats.items():
        if now - oldest[chat_key] < window:
            continue  # let the digest gather a little longer
        if time.monotonic() >= deadline:
            break
        _deliver_chat(chat_key, ids, deadline, report)
    return report


_no_token_warned = {"at": 0.0}


def _no_token_warn() -> None:
    if not _no_token_warned["at"] or time.monotonic() - _no_token_warned["at"] > 600:
        _no_token_warned["at"] = time.monotonic()
        logger.warning("TELEGRAM_BOT_TOKEN is not set: alerts wait in the outbox until it is")


def _recover_stale(report: SweepReport) -> None:
    stale = timezone.now() - dt.timedelta(seconds=settings.ALERT_CLAIM_SECONDS)
    report.taken_back += Notification.objects.filter(state=Delivery.CLAIMED, claimed_at__lt=stale).update(
        state=Delivery.PENDING, claim_token=""
    )
    report.unconfirmed += Notification.objects.filter(state=Delivery.IN_FLIGHT, claimed_at__lt=stale).update(
        state=Delivery.UNCONFIRMED, last_error="its sender stopped mid-request; not resent"
    )


def _deliver_chat(chat_key: tuple[str, int | None], ids: list[int], deadline: float, report: SweepReport) -> None:
    token = uuid.uuid4().hex
    claimed_at = timezone.now()
    Notification.objects.filter(pk__in=ids, state=Delivery.PENDING).update(
        state=Delivery.CLAIMED, claim_token=token, claimed_at=claimed_at
    )
    rows = list(
        Notification.objects.filter(claim_token=token, state=Delivery.CLAIMED)
        .select_related("alert", "route")
        .order_by("-alert__severity", "created_at", "pk")
    )
    if not rows:
        return
    chat_id, thread_id = chat_key
    parts = digest_render(rows, list_limit=settings.ALERT_DIGEST_LIST_LIMIT, console_url=settings.CONSOLE_URL)
    summarised = [r.pk for r in rows if r.summarised]
    if summarised:
        Notification.objects.filter(pk__in=summarised).update(summarised=True)
    index, waits_for_429 = 0, 0
    while index < len(parts):
        part = parts[index]
        wait = _pace_wait(chat_id)
        if time.monotonic() + wait >= deadline:
            _take_back([pk for p in parts[index:] for pk in p.notification_ids], token)
            return
        if wait:
            time.sleep(wait)
        _pace_record(chat_id)
        Notification.objects.filter(pk__in=part.notification_ids, claim_token=token).update(state=Delivery.IN_FLIGHT)
        result = bot_message_send(chat_id=chat_id, text=part.text, thread_id=thread_id)
        if result.retry_after:
            BOTAPI_RATE_LIMITED.inc()
        if result.retry_after and waits_for_429 < 3 and time.monotonic() + result.retry_after < deadline:
            # Telegram refused it outright, so nothing was delivered: wait as told, then send it again.
            Notification.objects.filter(pk__in=part.notification_ids, claim_token=token).update(
                state=Delivery.CLAIMED, last_error=result.error[:300]
            )
            _pace_block(chat_id, result.retry_after)
            waits_for_429 += 1
            continue
        if not _settle(part, result, rows, token, report):
            _take_back([pk for p in parts[index + 1 :] for pk in p.notification_ids], token)
            return
        report.sent_messages += 1
        index += 1


def _settle(part: Part, result: SendResult, rows: list[Notification], token: str, report: SweepReport) -> bool:
    """Record how one message went; False stops this chat for this sweep."""
    now = timezone.now()
    in_part = set(part.notification_ids)
    mine = Notification.objects.filter(pk__in=part.notification_ids, claim_token=token)
    per_route = Counter(r.route_id for r in rows if r.pk in in_part)
    route_ids = set(per_route)
    if result.ok:
        sent = mine.update(state=Delivery.SENT, sent_at=now, last_error="")
        report.sent_rows += sent
        ALERTS.labels("sent").inc(sent)
        for row in rows:
            if row.pk in in_part:
                DELIVERY_SECONDS.observe((now - row.created_at).total_seconds())
        return True
    Route.objects.filter(pk__in=route_ids).update(last_error=result.error[:300], last_error_at=now)
    if result.migrate_to_chat_id:
        old = rows[0].route.chat_id
        Route.objects.filter(chat_id=old).update(chat_id=result.migrate_to_chat_id)
        ChatPace.objects.filter(chat_id=old).delete()
        mine.update(state=Delivery.PENDING, claim_token="", next_attempt_at=now, last_error=result.error[:300])
        report.retried_rows += len(part.notification_ids)
        logger.warning("Chat %s became %s; routes updated and messages resent", old, result.migrate_to_chat_id)
        return False
    if result.temporary:
        if result.retry_after:
            _pace_block(rows[0].route.chat_id, result.retry_after)
        _retry(mine, result, now, report)
        return False
    if result.unknown and min(mine.values_list("attempts", flat=True), default=0) + 1 < UNKNOWN_ERROR_ATTEMPTS:
        _retry(mine, result, now, report)  # not yet a reason to disable the route
        return False
    failed = mine.update(state=Delivery.FAILED, last_error=result.error[:300])
    ALERTS.labels("failed").inc(failed)
    report.failed_rows += failed
    for route_id in route_ids:
        _route_disable(route_id, result.error)
    return False


def _retry(rows_qs, result: SendResult, now: dt.datetime, report: SweepReport) -> None:
    """Back to pending with backoff by attempt number (one update per distinct count), or failed for good."""
    error = result.error[:300]
    for attempts in sorted(set(rows_qs.values_list("attempts", flat=True))):
        group = rows_qs.filter(attempts=attempts)
        if RETRY.gives_up_after(attempts + 1):
            report.failed_rows += group.update(state=Delivery.FAILED, attempts=attempts + 1, last_error=error)
            continue
        delay = result.retry_after or RETRY.delay(attempts + 1)
        report.retried_rows += group.update(
            state=Delivery.PENDING, claim_token="", attempts=attempts + 1, last_error=error,
            next_attempt_at=now + dt.timedelta(seconds=delay),
        )  # fmt: skip


def _take_back(ids: list[int], token: str) -> None:
    Notification.objects.filter(pk__in=ids, claim_token=token, state=Delivery.CLAIMED).update(
        state=Delivery.PENDING, claim_token=""
    )


def _route_disable(route_id: int, error: str) -> None:
    from alerts.services import alert_raise

    route = Route.objects.get(pk=route_id)
    Route.objects.filter(pk=route_id).update(enabled=False, disabled_reason=error[:200])
    logger.error("Route %s disabled: %s", route.name, error)
    # Goes to every route still enabled (the default one included unless it is the one disabled), and
    # health's delivery component shows it too.
    alert_raise(kind="alerts.route_disabled", severity=Severity.CRITICAL, key=route.name,
                summary=f"Route {route.name} ({route.chat_id}) was disabled: {error}")  # fmt: skip


# --- pace: per chat (Telegram's limits, kept calmer in groups) and overall -----------------------


def _limits(chat_id: str) -> tuple[int, float]:
    return (GROUP_PER_MINUTE, PRIVATE_GAP) if chat_id.startswith("-") or chat_id.startswith("@") else (60, PRIVATE_GAP)


def _pace_wait(chat_id: str) -> float:
    now = time.time()
    per_minute, gap = _limits(chat_id)
    pace = ChatPace.objects.filter(chat_id=chat_id).first()
    overall = ChatPace.objects.filter(chat_id="*").first()
    wait = 0.0
    if pace:
        recent = [t for t in pace.sent_at if now - t < 60]
        if pace.blocked_until and pace.blocked_until.timestamp() > now:
            wait = max(wait, pace.blocked_until.timestamp() - now)
        if recent:
            wait = max(wait, recent[-1] + gap - now)
        if len(recent) >= per_minute:
            wait = max(wait, recent[-per_minute] + 60 - now)
    if overall:
        last_second = [t for t in overall.sent_at if now - t < 1]
        if len(last_second) >= GLOBAL_PER_SECOND:
            wait = max(wait, last_second[0] + 1 - now)
    return max(0.0, wait)


def _pace_record(chat_id: str) -> None:
    now = time.time()
    with transaction.atomic():
        for key, keep in ((chat_id, 60), ("*", 1)):
            pace, _ = ChatPace.objects.select_for_update().get_or_create(chat_id=key)
            pace.sent_at = [t for t in pace.sent_at if now - t < keep] + [now]
            pace.save(update_fields=["sent_at"])


def _pace_block(chat_id: str, seconds: int) -> None:
    until = timezone.now() + dt.timedelta(seconds=seconds)
    ChatPace.objects.update_or_create(chat_id=chat_id, defaults={"blocked_until": until})
