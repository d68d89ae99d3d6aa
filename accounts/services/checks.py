"""Checking accounts: claim a lease, ask Telegram, apply the status machine, release the lease.

An account is never checked from two places at once (Telegram kills a key used twice at
once): a check first claims the account's lease with a conditional update, and writes its
result only while it still holds that lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.checks.history import Checked, check_hours_add, check_records_write
from accounts.checks.status import Next, account_phase, regular_slot, status_next
from accounts.checks.targets import TARGET_COLUMNS, CheckTarget, check_targets, targets_from_rows
from accounts.models import StatusTransition, TelegramAccount
from accounts.services.guard import account_require
from accounts.services.proxies import proxies_note, proxy_route
from accounts.services.sessions import account_vault_entry
from accounts.sessions import SessionFormatError, SessionRecord
from accounts.signals import account_status_changed, account_statuses_changed
from accounts.telegram.batch_loop import batch_run
from accounts.telegram.breaker import TRANSPORT, DcBreakers, dc_down_result
from accounts.telegram.breaker import address as breaker_address
from accounts.telegram.endpoint import ClientProfile, Endpoint, endpoint_for, profile_for
from accounts.telegram.gateway import session_check
from accounts.telegram.outcomes import CheckOutcome, CheckResult
from accounts.telegram.route import ProxyRoute
from accounts.vault.crypto import VaultKeyError
from accounts.vault.storage import session_storage, vault_read_many
from alerts.models import Severity
from alerts.services import alert_raise
from audit.services import audit_record
from project.bound_sql import bound_execute
from project.metrics import CHECK_OUTCOMES, CHECK_SECONDS, histogram_observe_many

logger = logging.getLogger(__name__)


class CheckBusyError(Exception):
    """Another worker holds this account's lease right now."""


@dataclass(frozen=True)
class CheckDone:
    account_id: int
    result: CheckResult
    status: str
    previous_status: str


def leases_claim(ids: list[int], *, owner: str, not_checked_since: dt.datetime | None = None) -> list[int]:
    """Lease what is free of ``ids`` (and, with ``not_checked_since``, not checked since: a batch sent twice checks
    once) to ``owner``; the ids ``owner`` holds, those it held already included. On PostgreSQL one UPDATE ...
    RETURNING with the ids bound as one array."""
    if connection.vendor == "postgresql":
        return [pk for (pk,) in _claim(ids, owner, not_checked_since, returning="id")]
    now = timezone.now()
    free = TelegramAccount.objects.filter(pk__in=ids).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    if not_checked_since is not None:
        free = free.filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=not_checked_since))
    free.update(lease_owner=owner, lease_expires_at=now + dt.timedelta(seconds=settings.CHECK_LEASE_SECONDS))
    return list(TelegramAccount.objects.filter(pk__in=ids, lease_owner=owner).values_list("pk", flat=True))


def targets_claim(ids: list[int], *, owner: str, not_checked_since: dt.datetime | None = None) -> list[CheckTarget]:
    """leases_claim, and what a check reads of each account it now holds (check_targets): on PostgreSQL the claim's
    own UPDATE returns those columns, one statement and one walk of the batch's rows where there were two."""
    if connection.vendor == "postgresql":
        return targets_from_rows(_claim(ids, owner, not_checked_since, returning=TARGET_COLUMNS))
    return check_targets(leases_claim(ids, owner=owner, not_checked_since=not_checked_since), owner=owner)


def _claim(ids: list[int], owner: str, not_checked_since: dt.datetime | None, *, returning: str) -> list[tuple]:
    now = timezone.now()
    expires = now + dt.timedelta(seconds=settings.CHECK_LEASE_SECONDS)
    table = connection.ops.quote_name(TelegramAccount._meta.db_table)
    checked = "AND (last_checked_at IS NULL OR last_checked_at < %s) " if not_checked_since is not None else ""
    params = [owner, expires, ids, now, *([not_checked_since] if not_checked_since is not None else []), owner]
    return bound_execute(
        f"UPDATE {table} SET lease_owner = %s, lease_expires_at = %s "  # noqa: S608 (our table, our columns)
        f"WHERE id = ANY(%b::bigint[]) AND (((lease_expires_at IS NULL OR lease_expires_at < %s) {checked}) "
        f"OR lease_owner = %s) RETURNING {returning}",
        params,
    )


def leases_release(ids: list[int], *, owner: str) -> None:
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(TelegramAccount._meta.db_table)
        bound_execute(f"UPDATE {table} SET lease_owner = '', lease_expires_at = NULL "  # noqa: S608 (our table)
                      "WHERE id = ANY(%b::bigint[]) AND lease_owner = %s", [ids, owner])  # fmt: skip
        return
    TelegramAccount.objects.filter(pk__in=ids, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


@dataclass
class _Job:
    """One account of a batch: what to dial, or (when the check cannot even start) its result already."""

    account: TelegramAccount | CheckTarget
    record: SessionRecord | None = None
    endpoint: Endpoint | None = None
    profile: ClientProfile | None = None
    result: CheckResult | None = None
    proxy: ProxyRoute | None = None


def dial_plan(account: TelegramAccount | CheckTarget, routes: dict[int, ProxyRoute], blob: bytes | None = None) -> _Job:
    """Any failure before dialling (vault, session, configuration, a bug) is this account's `error` outcome,
    never its batch's: the other accounts are still checked and every lease is released. ``blob``: its sealed
    session if the batch read it already."""
    try:
        record = account_vault_entry(account, blob).record
        job = _Job(account, record, endpoint_for(record), profile_for(record, account.device, account.api_id))
        if account.proxy_id is None:
            return job
        if not account.proxy.enabled:  # never direct instead: the account waits for its proxy
            return _Job(account, result=CheckResult(CheckOutcome.PROXY_ERROR, f"proxy {account.proxy_id} is disabled"))
        if account.proxy_id not in routes:  # unsealed once a batch, not once per account behind it
            routes[account.proxy_id] = proxy_route(account.proxy)
        job.proxy = routes[account.proxy_id]
        return job
    except (VaultKeyError, OSError, SessionFormatError, ImproperlyConfigured) as exc:
        reason = str(exc) if not isinstance(exc, OSError) else f"its session cannot be read ({exc.strerror})"
        logger.error("Account %s cannot be checked: %s", account.pk, reason)
    except Exception:
        logger.exception("Account %s cannot be checked: unexpected error", account.pk)
        reason = "unexpected error before the check; see the worker's log"
    return _Job(account, result=CheckResult(CheckOutcome.ERROR, reason[:200]))


def dial_plans(accounts: list[TelegramAccount] | list[CheckTarget]) -> list[_Job]:
    """A batch's plans: its sealed sessions read at once (one query in the database store), each proxy's route
    unsealed once."""
    routes: dict[int, ProxyRoute] = {}
    blobs = vault_read_many(session_storage(), [a.vault_name for a in accounts])
    return [dial_plan(account, routes, blobs.get(account.vault_name)) for account in accounts]


@contextmanager
def leases_held(ids: list[int], *, owner: str, not_checked_since: dt.datetime | None = None) -> Iterator[list[int]]:
    """Claim what is free of `ids` for `owner`; whatever happens inside (a refused audit, a crash in a check),
    the leases are released on the way out."""
    claimed = leases_claim(ids, owner=owner, not_checked_since=not_checked_since)
    try:
        yield claimed
    finally:
        leases_release(claimed, owner=owner)


def checks_run(ids: list[int], *, owner: str, progress: Callable[[int], None] | None = None) -> list[CheckDone]:
    """Check accounts whose lease `owner` holds: concurrently on one event loop, then record results. Every lease of
    ``ids`` that ``owner`` holds is released on the way out: with its account's result, or, if the batch fails
    before its results are written, without.

    ``progress`` hears each check as it ends (from the event loop's thread).
    """
    return _checks(ids, owner, lambda: check_targets(ids, owner=owner), progress)


def checks_claim_run(ids: list[int], *, owner: str, not_checked_since: dt.datetime | None = None) -> list[CheckDone]:
    """Claim what is free of ``ids`` for ``owner`` (leases_claim) and check it, as checks_run does: the claim
    returns what the checks read (targets_claim). Every lease claimed is released on the way out."""
    return _checks(ids, owner, lambda: targets_claim(ids, owner=owner, not_checked_since=not_checked_since), None)


def _checks(ids: list[int], owner: str, targets: Callable[[], list[CheckTarget]], progress) -> list[CheckDone]:
    # Not model instances: the columns a check reads, its proxy along (an account behind one is dialled through
    # it); whole accounts are loaded only for a batch's transitions (_announce), which the alert hooks name.
    recorded = False
    try:
        accounts = targets()
        jobs = dial_plans(accounts)
        breakers = DcBreakers()
        results = batch_run(_check_all(jobs, breakers, progress)) if jobs else []
        # A transport failure against a DC whose breaker is now open was the DC's doing, not the account's.
        results = [dc_down_result(r) if r.outcome in TRANSPORT and job.proxy is None and breakers.was_open(job.endpoint)
                   else r for job, r in zip(jobs, results, strict=True)]  # fmt: skip
        for outcome, n in Counter(result.outcome for result in results).items():
            CHECK_OUTCOMES.labels(outcome).inc(n)
        histogram_observe_many(CHECK_SECONDS, [result.latency_ms / 1000 for result in results])
        _announce_breakers(breakers, jobs, results)
        proxies_note([(job.account.proxy_id, r) for job, r in zip(jobs, results, strict=True) if job.account.proxy_id])
        done = _record_all([(job.account, result) for job, result in zip(jobs, results, strict=True)], owner)
        recorded = True  # every lease still ours was released with its result
        return done
    finally:
        if not recorded:
            leases_release(ids, owner=owner)


async def _check_all(jobs: list[_Job], breakers: DcBreakers, progress) -> list[CheckResult]:
    """At most CHECK_CONCURRENCY checks at once: that many runners, each taking the next job as its last ends. Not a
    task per job behind a semaphore: that made every job of a batch a task up front (500 where 50 run) and parked
    each on a future of the semaphore's until a slot freed, work the event loop did for nothing."""
    timeout = settings.TELEGRAM_CHECK_TIMEOUT
    results: list[CheckResult | None] = [None] * len(jobs)
    pending = iter(enumerate(jobs))  # shared: each job is taken by exactly one runner

    async def one(job: _Job) -> CheckResult:
        if job.proxy is not None:  # the DC's breaker is about direct paths; a proxy answers for itself
            return await session_check(job.record, endpoint=job.endpoint, profile=job.profile, timeout=timeout,
                                       proxy=job.proxy)  # fmt: skip
        if breakers.is_open(job.endpoint):
            return dc_down_result()
        result = await session_check(job.record, endpoint=job.endpoint, profile=job.profile, timeout=timeout)
        breakers.record(job.endpoint, result)
        return result

    async def runner() -> None:
        for i, job in pending:
            if job.result is not None:  # it could not even start (its session, its proxy): nothing to wait for
                results[i] = job.result
            else:
                results[i] = await one(job)
                # Let what ended at the same time finish before the next job starts: checks timing out together
                # against a dead DC must all count toward its breaker before any runner dials it again.
                await asyncio.sleep(0)
            if progress:
                progress(1)

    await asyncio.gather(*(runner() for _ in range(min(settings.CHECK_CONCURRENCY, len(jobs)))))
    return results


def _announce_breakers(breakers: DcBreakers, jobs, results: list[CheckResult]) -> None:
    """One alert per DC whose breaker this batch opened; the network monitor resolves it."""
    for addr in sorted(breakers.opened_here):
        stopped = sum(1 for job, r in zip(jobs, results, strict=True)
                      if r.outcome is CheckOutcome.DC_DOWN and breaker_address(job.endpoint) == addr)  # fmt: skip
        logger.warning("Telegram DC %s unreachable: its circuit breaker is open", addr)
        alert_raise(
            kind="telegram.dc_down", severity=Severity.CRITICAL, key=addr,
            summary=f"Telegram DC {addr} is unreachable: checks through it stop until it answers again",
            details={"address": addr, "checks_stopped": stopped},
        )  # fmt: skip


APPLIED_FIELDS = ["status", "next_check_at", "last_checked_at", "last_outcome", "consecutive_failures",
                  "flood_wait_until", "telegram_user_id", "lease_owner", "lease_expires_at"]  # fmt: skip


def _record_all(pairs: list[tuple[CheckTarget, CheckResult]], owner: str) -> list[CheckDone]:
    """One transaction for the batch: only rows still leased to us are written (the rest were taken over)."""
    now = timezone.now()
    done, records, transitions, planned = [], [], [], []
    default_interval, jitter = settings.CHECK_INTERVAL_SECONDS, settings.CHECK_JITTER_SECONDS
    offline_after = settings.CHECK_OFFLINE_AFTER
    with transaction.atomic():
        for account, result in pairs:
            previous = account.status
            interval = account.check_interval_seconds or default_interval
            nxt: Next = status_next(
                status=previous, failures=account.consecutive_failures, result=result, now=now, interval=interval,
                jitter=jitter, offline_after=offline_after, phase=account_phase(account.pk, interval),
            )  # fmt: skip
            account.status, account.next_check_at, account.last_checked_at = nxt.status, nxt.next_check_at, now
            account.last_outcome, account.consecutive_failures = result.outcome, nxt.failures
            account.flood_wait_until = nxt.flood_wait_until
            account.telegram_user_id = result.user_id or account.telegram_user_id
            account.lease_owner, account.lease_expires_at = "", None  # released in the same write
            planned.append((account, result, previous, nxt))
        held = status_rows_write([account for account, *_ in planned], owner=owner)
        teams = {}
        for account, result, previous, nxt in planned:
            if account.pk not in held:  # taken over: its new holder writes it
                done.append(CheckDone(account.pk, result, previous, previous))
                continue
            teams[account.pk] = account.team_id
            records.append(Checked(account.pk, now, result.outcome, result.detail[:200], result.latency_ms))
            if nxt.status != previous:
                transitions.append(StatusTransition(account_id=account.pk, at=now, from_status=previous,
                                                    to_status=nxt.status, reason=nxt.reason))  # fmt: skip
            done.append(CheckDone(account.pk, result, nxt.status, previous))
        check_records_write(records)
        check_hours_add(records, teams)
        StatusTransition.objects.bulk_create(transitions, batch_size=1000)
        transaction.on_commit(lambda: _announce(transitions))
    return done


def status_rows_write(accounts: list[TelegramAccount | CheckTarget], *, owner: str | None = None) -> set[int]:
    """The checks' fields of many accounts, their leases included, in one statement: on PostgreSQL an UPDATE ... FROM
    unnest(arrays) (one plan, no CASE per row and field, which is what bulk_update builds); elsewhere bulk_update.
    The lease is written with the result, so a batch does not update its rows a second time to release them. With
    ``owner``, only rows that ``owner`` still leases are written. Returns the ids written."""
    if not accounts:
        return set()
    if connection.vendor != "postgresql":
        if owner is not None:
            ours = TelegramAccount.objects.select_for_update().filter(
                pk__in=[a.pk for a in accounts], lease_owner=owner
            )
            held = set(ours.values_list("pk", flat=True))
            accounts = [a for a in accounts if a.pk in held]
        rows = [TelegramAccount(pk=a.pk, **{name: getattr(a, name) for name in APPLIED_FIELDS}) for a in accounts]
        TelegramAccount.objects.bulk_update(rows, APPLIED_FIELDS, batch_size=500)
        return {a.pk for a in accounts}
    table = connection.ops.quote_name(TelegramAccount._meta.db_table)
    ids = [a.pk for a in accounts]
    columns = [ids, [a.status for a in accounts], [a.next_check_at for a in accounts],
               [a.last_checked_at for a in accounts], [a.last_outcome for a in accounts],
               [a.consecutive_failures for a in accounts], [a.flood_wait_until for a in accounts],
               [a.telegram_user_id for a in accounts], [a.lease_owner for a in accounts],
               [a.lease_expires_at for a in accounts]]  # fmt: skip
    # The plan stays a batch's size at any fleet's: the rows are found through the primary key (``a.id = ANY``),
    # and the lease is compared as a column of the batch's own (``held_by``). Compared with a constant, PostgreSQL
    # took a batch's rows to be one (almost every row's lease_owner is ''), and below about 20,000 accounts it
    # read the whole table and then the 250 values again for each row it found: 88 us of its CPU a check.
    held = owner is not None
    rows = bound_execute(
        f"UPDATE {table} AS a SET status = v.status, next_check_at = v.next_check_at, "  # noqa: S608 (our table)
        "last_checked_at = v.last_checked_at, last_outcome = v.last_outcome, consecutive_failures = v.failures, "
        "flood_wait_until = v.flood_wait_until, telegram_user_id = v.user_id, lease_owner = v.lease_owner, "
        "lease_expires_at = v.lease_expires_at "
        "FROM unnest(%b::bigint[], %b::varchar[], %b::timestamptz[], %b::timestamptz[], %b::varchar[], "
        f"%b::integer[], %b::timestamptz[], %b::bigint[], %b::varchar[], %b::timestamptz[]{', %b::varchar[]' * held}) "
        "AS v(id, status, next_check_at, last_checked_at, last_outcome, failures, flood_wait_until, user_id, "
        f"lease_owner, lease_expires_at{', held_by' * held}) "
        f"WHERE a.id = ANY(%b::bigint[]) AND a.id = v.id {'AND a.lease_owner = v.held_by ' * held}RETURNING a.id",
        [*columns, *([[owner] * len(ids)] if held else []), ids],
    )
    return {pk for (pk,) in rows}


def dispatch_marks_write(ids: list[int], marks: list[dt.datetime]) -> None:
    """Each dispatched account's next check time, in one statement on PostgreSQL (an UPDATE ... FROM unnest)."""
    if connection.vendor != "postgresql":
        rows = [TelegramAccount(pk=pk, next_check_at=mark) for pk, mark in zip(ids, marks, strict=True)]
        TelegramAccount.objects.bulk_update(rows, ["next_check_at"], batch_size=500)
        return
    table = connection.ops.quote_name(TelegramAccount._meta.db_table)
    # Through the primary key, as status_rows_write: the plan stays a chunk's size at any fleet's.
    bound_execute(f"UPDATE {table} AS a SET next_check_at = v.mark "  # noqa: S608 (our table)
                  "FROM unnest(%b::bigint[], %b::timestamptz[]) AS v(id, mark) "
                  "WHERE a.id = ANY(%b::bigint[]) AND a.id = v.id", [ids, marks, ids])  # fmt: skip


def _announce(transitions: list[StatusTransition]) -> None:
    if not transitions:
        return
    # The hooks get whole accounts, each with its team: one query for the batch's, not one per account in a storm.
    accounts = TelegramAccount.objects.select_related("team").in_bulk([t.account_id for t in transitions])
    transitions = [t for t in transitions if t.account_id in accounts]  # one deleted since is nobody's news
    for t in transitions:
        t.account = accounts[t.account_id]
    changes = [(t.account, t.from_status, t.to_status, t.reason) for t in transitions]
    account_statuses_changed.send(sender=TelegramAccount, changes=changes)
    for t in transitions:
        account_status_changed.send(
            sender=TelegramAccount, account=t.account, old_status=t.from_status, new_status=t.to_status, reason=t.reason
        )


def account_check(*, actor, account: TelegramAccount) -> CheckDone:
    """Check one account now, for a person (admin, API) or a command; audited."""
    account_require(actor=actor, account=account, codename="check_account", action="account.check")
    owner = f"manual:{uuid.uuid4().hex[:12]}"
    with leases_held([account.pk], owner=owner) as claimed:
        if not claimed:
            raise CheckBusyError(f"account {account.pk} is being checked elsewhere right now; try again shortly")
        with transaction.atomic():
            audit_record(actor=actor, action="account.check", target=account)
        [done] = checks_run(claimed, owner=owner)
    return done


@dataclass(frozen=True)
class ChecksRequested:
    batches: list[list[int]]  # for workers, in CHECK_BATCH_SIZE batches
    refused: list[tuple[TelegramAccount, str]]


def checks_request(*, actor, accounts: list[TelegramAccount]) -> ChecksRequested:
    """A person asks for many checks at once: each account's permission is decided (refusals audited), each
    allowed check audited, and the allowed ones batched for workers (the caller queues them)."""
    allowed, refused = [], []
    # One query decides them all; only a refusal goes through account_require (which audits it).
    permitted = set(TelegramAccount.objects.restrict(actor, "check").filter(pk__in=[a.pk for a in accounts])
                    .values_list("pk", flat=True))  # fmt: skip
    for account in accounts:
        if account.pk in permitted:
            allowed.append(account)
            continue
        try:
            account_require(actor=actor, account=account, codename="check_account", action="account.check")
        except PermissionDenied as exc:
            refused.append((account, str(exc)))
        else:
            allowed.append(account)
    with transaction.atomic():
        for account in allowed:
            audit_record(actor=actor, action="account.check", target=account, details={"queued": True})
    ids, size = [a.pk for a in allowed], settings.CHECK_BATCH_SIZE
    return ChecksRequested([ids[i : i + size] for i in range(0, len(ids), size)], refused)


def checks_dispatch(*, now: dt.datetime | None = None,
                    queue: Callable[[list[list[int]]], object] | None = None) -> list[list[int]]:  # fmt: skip
    """Pick the accounts that are due and split them into batches (the beat job queues them). With ``queue``, each
    chunk's batches are handed to it as soon as the chunk is marked, so workers start on the first while the rest
    are marked (a tick of 20,000 due no longer leaves them idle until the last is)."""
    now = now or timezone.now()
    # Two walks of the (next_check_at, id) index, each stopping at the limit: never checked first, then the longest
    # overdue. (One query with `IS NULL OR <= now` could use no index order and would sort every due row.)
    limit = settings.CHECK_DISPATCH_LIMIT
    free = TelegramAccount.objects.filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
    fields = ("pk", "check_interval_seconds")
    due = list(free.filter(next_check_at__isnull=True).order_by("pk").values_list(*fields)[:limit])
    if len(due) < limit:
        overdue = free.filter(next_check_at__lte=now).order_by("next_check_at", "pk").values_list(*fields)
        due += overdue[: limit - len(due)]
    # Not due again while queued: each is marked with the slot a success will give it (so writing a healthy check's
    # result moves no indexed column, and PostgreSQL updates the row in place), and at least the lease time away.
    # If the batch is lost, the account comes round at that slot.
    grace = now + dt.timedelta(seconds=settings.CHECK_LEASE_SECONDS)
    default_interval = settings.CHECK_INTERVAL_SECONDS
    size = settings.CHECK_BATCH_SIZE
    chunk = size * max(1, 1000 // size)  # whole batches, about a thousand accounts a statement
    batches: list[list[int]] = []
    for start in range(0, len(due), chunk):
        part = due[start : start + chunk]
        marked = [pk for pk, _ in part]
        dispatch_marks_write(marked, [max(grace, regular_slot(pk, interval or default_interval, now))
                                      for pk, interval in part])  # fmt: skip
        these = [marked[i : i + size] for i in range(0, len(marked), size)]
        if queue is not None:
            queue(these)
        batches += these
    return batches
