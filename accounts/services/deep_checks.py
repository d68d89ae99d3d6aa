"""Deep checks: what Telegram holds against each account (spam block, freeze, restrictions, other sessions).

Rare and careful: every account at most once per its interval (a day by default), spread over it; never while
its liveness check runs (the same lease); through its proxy as its own app; a few at a time. @SpamBot is asked
only for teams that opted in, at most once a day per account, and each time is audited (it sends a message).
Changes raise alerts: spam-blocked, frozen (and again a week and a day before the deletion date, with the
appeal link), a new session on another device; they resolve when Telegram no longer says so.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AccountStanding, AccountStatus, TelegramAccount
from accounts.services.checks import dial_plan, dial_plans, leases_held
from accounts.services.guard import account_require
from accounts.telegram.deep import DeepResult, deep_check, other_sessions_reset
from accounts.telegram.outcomes import CheckOutcome
from accounts.telegram.spambot import spambot_classify
from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve
from audit.models import Outcome
from audit.services import audit_record
from project.actors import SystemActor

logger = logging.getLogger(__name__)
SPAMBOT_EVERY = dt.timedelta(hours=23)
REMINDERS = (("week", dt.timedelta(days=7)), ("day", dt.timedelta(days=1)))
KEEP_EVIDENCE = 50
ALIVE = (AccountStatus.OK, AccountStatus.UNCERTAIN, AccountStatus.FLOOD_WAIT)


@dataclass(frozen=True)
class DeepDone:
    account_id: int
    outcome: str
    standing: AccountStanding | None


class DeepCheckBusyError(Exception):
    """The account's lease is held elsewhere (a liveness check right now)."""


def deep_checks_dispatch(*, now: dt.datetime | None = None) -> list[list[int]]:
    """Accounts whose deep check is due, in batches for workers. An account without a standing yet gets one with
    its first deep check spread over the next quarter interval, so an import of thousands is no herd."""
    now = now or timezone.now()
    limit, interval = settings.DEEP_CHECK_DISPATCH_LIMIT, settings.DEEP_CHECK_INTERVAL_SECONDS
    new = list(TelegramAccount.objects.filter(standing__isnull=True).values_list("pk", flat=True)[:limit])
    AccountStanding.objects.bulk_create(
        [AccountStanding(account_id=pk, next_at=now + dt.timedelta(seconds=_uniform(0, interval / 4)))
         for pk in new], ignore_conflicts=True, batch_size=1000,
    )  # fmt: skip
    due = list(AccountStanding.objects.filter(next_at__lte=now, account__status__in=ALIVE)
               .filter(Q(account__lease_expires_at__isnull=True) | Q(account__lease_expires_at__lt=now))
               .order_by("next_at").values_list("account_id", flat=True)[:limit])  # fmt: skip
    grace = now + dt.timedelta(seconds=settings.CHECK_LEASE_SECONDS)  # not due again while queued
    AccountStanding.objects.filter(account_id__in=due).update(next_at=grace)
    size = settings.DEEP_CHECK_BATCH_SIZE
    return [due[i : i + size] for i in range(0, len(due), size)]


def deep_checks_run(ids: list[int], *, owner: str | None = None) -> list[DeepDone]:
    """Deep-check these accounts (the worker's side); those whose lease is held elsewhere wait for the next turn."""
    owner = owner or f"deep:{uuid.uuid4().hex[:12]}"
    with leases_held(ids, owner=owner) as claimed:
        accounts = list(TelegramAccount.objects.filter(pk__in=claimed, lease_owner=owner)
                        .select_related("team", "proxy", "standing"))  # fmt: skip
        plans = dial_plans(accounts)
        now = timezone.now()
        asks = [_spambot_due(account, now) for account in accounts]
        results = asyncio.run(_run_all(plans, asks)) if plans else []
        return [_record(account, result, asked) for account, result, asked in zip(accounts, results, asks, strict=True)]


def account_deep_check(*, actor, account: TelegramAccount) -> DeepDone:
    """One account now, for a person or a command (audited); @SpamBot only as its team's setting and day allow."""
    account_require(actor=actor, account=account, codename="check_account", action="account.deep_check")
    owner = f"deep-manual:{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        audit_record(actor=actor, action="account.deep_check", target=account)
    done = deep_checks_run([account.pk], owner=owner)
    if not done:
        raise DeepCheckBusyError(f"account {account.pk} is being checked elsewhere right now; try again shortly")
    return done[0]


def other_sessions_terminate(*, actor, account: TelegramAccount) -> str | None:
    """auth.resetAuthorizations for this account: every other device is signed out; ours never is. Audited
    (refusals too). Returns None when done, else Telegram's reason."""
    account_require(actor=actor, account=account, codename="change_telegramaccount", action="account.sessions_reset")
    owner = f"reset:{uuid.uuid4().hex[:12]}"
    with leases_held([account.pk], owner=owner) as claimed:
        if not claimed:
            raise DeepCheckBusyError(f"account {account.pk} is being checked right now; try again shortly")
        plan = dial_plan(account, {})
        if plan.result is not None:  # it cannot even be dialled (vault, proxy disabled): a failed attempt, audited
            error = plan.result.detail
        else:
            error = asyncio.run(other_sessions_reset(plan.record, endpoint=plan.endpoint, profile=plan.profile,
                                                     timeout=settings.TELEGRAM_CHECK_TIMEOUT,
                                                     proxy=plan.proxy))  # fmt: skip
        with transaction.atomic():
            audit_record(actor=actor, action="account.sessions_reset", target=account,
                         outcome=Outcome.FAILED if error else Outcome.ALLOWED,
                         details={"error": error} if error else {})  # fmt: skip
            if error is None:
                standing, _ = AccountStanding.objects.get_or_create(account=account)
                standing.authorizations = [a for a in standing.authorizations if a.get("current")]
                standing.other_sessions = 0
                standing.save(update_fields=["authorizations", "other_sessions"])
                for key in _session_alert_keys(account):
                    alert_resolve(kind="account.new_session", key=key)
    return error


# --- running ---------------------------------------------------------------------------------------------------
async def _run_all(plans, asks: list[bool]) -> list[DeepResult]:
    gate = asyncio.Semaphore(settings.DEEP_CHECK_CONCURRENCY)

    async def one(plan, ask: bool) -> DeepResult:
        if plan.result is not None:
            return DeepResult(plan.result.outcome, plan.result.detail)
        async with gate:
            return await deep_check(plan.record, endpoint=plan.endpoint, profile=plan.profile, proxy=plan.proxy,
                                    timeout=settings.TELEGRAM_CHECK_TIMEOUT, ask_spambot=ask)  # fmt: skip

    return await asyncio.gather(*(one(plan, ask) for plan, ask in zip(plans, asks, strict=True)))


def _spambot_due(account: TelegramAccount, now: dt.datetime) -> bool:
    if account.team is None or not account.team.spambot_checks:
        return False
    standing = getattr(account, "standing", None)
    asked = standing.spambot_asked_at if standing is not None else None
    return asked is None or asked <= now - SPAMBOT_EVERY


# --- recording -------------------------------------------------------------------------------------------------
def _record(account: TelegramAccount, result: DeepResult, asked: bool) -> DeepDone:
    now = timezone.now()
    with transaction.atomic():
        standing, _ = AccountStanding.objects.select_for_update().get_or_create(account=account)
        before = (standing.spam_blocked, standing.frozen, {a["hash"] for a in standing.authorizations})
        interval = standing.interval_seconds or settings.DEEP_CHECK_INTERVAL_SECONDS
        standing.checked_at, standing.last_outcome = now, result.outcome
        standing.next_at = now + dt.timedelta(seconds=interval * _uniform(0.9, 1.1))
        if result.outcome is CheckOutcome.OK:
            _classify(standing, result, now)
            imported = int(account.created_at.timestamp())
            for session in standing.authorizations:  # came after the account came to us: someone else's doing?
                session["new"] = not session["current"] and (session.get("created") or imported) >= imported
        standing.evidence = (result.evidence + standing.evidence)[:KEEP_EVIDENCE]
        if result.outcome is not CheckOutcome.OK:
            standing.evidence.insert(0, {"signal": "not_checked", "method": "connect", "answer": result.detail,
                                         "at": now.isoformat(timespec="seconds")})  # fmt: skip
        standing.save()
        if result.spambot_asked:
            audit_record(actor=SystemActor("deep-check"), action="account.spambot", target=account,
                         details={"answer": standing.spam_kind or "none"})  # fmt: skip
        elif asked and result.outcome is CheckOutcome.OK and not result.frozen:
            logger.info("Account %s: @SpamBot could not be asked", account.pk)
    _announce(account, standing, before, now)  # once the standing is committed; each alert in its own transaction
    return DeepDone(account.pk, result.outcome, standing)


def _classify(standing: AccountStanding, result: DeepResult, now: dt.datetime) -> None:
    standing.restricted, standing.scam, standing.fake = result.restricted, result.scam, result.fake
    standing.restriction_reasons = result.restriction_reasons
    if result.two_step is not None:
        standing.two_step = result.two_step
    if result.authorizations is not None:
        standing.authorizations = result.authorizations
        standing.other_sessions = sum(1 for a in result.authorizations if not a["current"])
    # Frozen: what this check learnt; an unreadable app config with no freeze error is "unknown", not "fine".
    standing.frozen = result.frozen
    if result.frozen:
        standing.freeze_since = _when(result.freeze_since) or standing.freeze_since
        standing.freeze_until = _when(result.freeze_until) or standing.freeze_until
        standing.freeze_appeal_url = result.freeze_appeal_url or standing.freeze_appeal_url
    elif result.frozen is False:
        standing.freeze_since = standing.freeze_until = None
        standing.freeze_appeal_url, standing.freeze_reminders = "", []
    if result.spambot_asked:
        standing.spambot_asked_at = now
        verdict = spambot_classify(result.spambot_text or "")
        standing.spam_kind, standing.spam_until = verdict.kind, verdict.until
        standing.spam_text = (result.spambot_text or "")[:2000]
        standing.spam_blocked = verdict.blocked
    if result.spam_errors:  # Telegram refused to let it write: whatever @SpamBot says, it is limited
        standing.spam_blocked, standing.spam_kind = True, result.spam_errors[0].lower()


def _announce(account: TelegramAccount, standing: AccountStanding, before, now: dt.datetime) -> None:
    was_spam, was_frozen, known = before
    key, label = str(account.pk), account.label
    if standing.spam_blocked and not was_spam:
        until = f" until {standing.spam_until:%Y-%m-%d %H:%M} UTC" if standing.spam_until else ""
        alert_raise(kind="account.spam_blocked", severity=Severity.WARNING, key=key,
                    summary=f"{label} is spam-blocked{until}: it can write only to mutual contacts",
                    details={"account": account.pk, "kind": standing.spam_kind,
                             "until": str(standing.spam_until or "")})  # fmt: skip
    elif standing.spam_blocked is False and was_spam:
        alert_resolve(kind="account.spam_blocked", key=key)
    if standing.frozen and not was_frozen:
        deadline = f"; deleted on {standing.freeze_until:%Y-%m-%d} unless it succeeds" if standing.freeze_until else ""
        alert_raise(kind="account.frozen", severity=Severity.CRITICAL, key=key,
                    summary=f"{label} is frozen by Telegram: most methods fail until an appeal{deadline}",
                    details={"account": account.pk, "appeal": standing.freeze_appeal_url})  # fmt: skip
    elif standing.frozen is False and was_frozen:
        alert_resolve(kind="account.frozen", key=key)
    _freeze_reminders(account, standing, now)
    for session in standing.authorizations:
        created = session.get("created")
        if session.get("current") or session["hash"] in known:
            continue
        if created is not None and created < int(account.created_at.timestamp()):
            continue  # there before the account came to us: not news
        alert_raise(kind="account.new_session", severity=Severity.WARNING, key=f"{key}:{session['hash']}",
                    summary=f"New session on {label}: {session['device']} ({session['app']}) from "
                    f"{session['country'] or 'an unknown country'}",
                    details={"account": account.pk, "ip": session["ip"],
                             "unconfirmed": session["unconfirmed"]})  # fmt: skip


def _freeze_reminders(account: TelegramAccount, standing: AccountStanding, now: dt.datetime) -> None:
    if not standing.frozen or standing.freeze_until is None:
        return
    sent = list(standing.freeze_reminders)
    for name, before in REMINDERS:
        if name in sent or standing.freeze_until - now > before or standing.freeze_until < now:
            continue
        alert_raise(kind="account.freeze_deadline", severity=Severity.CRITICAL, key=f"{account.pk}:{name}",
                    summary=f"{account.label} will be deleted by Telegram on {standing.freeze_until:%Y-%m-%d %H:%M} "
                    f"UTC unless its appeal succeeds: {standing.freeze_appeal_url or 'appeal in the app'}",
                    details={"account": account.pk, "appeal": standing.freeze_appeal_url})  # fmt: skip
        sent.append(name)
    if sent != standing.freeze_reminders:
        AccountStanding.objects.filter(pk=standing.pk).update(freeze_reminders=sent)


def _session_alert_keys(account: TelegramAccount) -> list[str]:
    from alerts.models import Alert

    return [k for k in Alert.objects.filter(kind="account.new_session", key__startswith=f"{account.pk}:")
            .values_list("key", flat=True)]  # fmt: skip


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * secrets.randbelow(1_000_000) / 1_000_000


def _when(timestamp: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC) if timestamp else None
