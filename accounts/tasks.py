"""Celery adapters: ids and plain values in, one service call each."""

from __future__ import annotations

from celery import current_task, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.checks.history import checks_prune
from accounts.services.checks import checks_claim_run, checks_dispatch
from accounts.telegram.monitor import endpoints_probe


@shared_task(name="accounts.checks_dispatch")
def checks_dispatch_task() -> int:
    """Beat: fan the accounts that are due out to workers in batches."""
    dispatched_at = timezone.now()
    batches = checks_dispatch(now=dispatched_at, queue=lambda these: checks_batches_queue(these, dispatched_at))
    return sum(len(ids) for ids in batches)


def checks_batches_queue(batches: list[list[int]], asked_at) -> int:
    """Queue batches of account ids for workers once the caller's transaction commits; returns how many ids.
    Nobody waits for a beat batch's result (each account's row is its result), so none is stored: storing it was
    a Redis write per batch and an hour's key, 400 an hour at 100,000 accounts, that nothing read."""
    for ids in batches:
        transaction.on_commit(lambda ids=ids: checks_batch_task.apply_async((ids, asked_at.isoformat()),
                                                                            ignore_result=True))  # fmt: skip
    return sum(len(ids) for ids in batches)


@shared_task(
    name="accounts.checks_batch",
    acks_late=True,
    soft_time_limit=settings.CHECK_TASK_TIME_LIMIT,
    time_limit=settings.CHECK_TASK_TIME_LIMIT + settings.TASK_KILL_GRACE_SECONDS,
)
def checks_batch_task(account_ids: list[int], dispatched_at: str) -> dict[str, int]:
    owner = f"batch:{current_task.request.id or 'eager'}"
    # No release after: each lease goes with its result (or, failing, without one).
    done = checks_claim_run(account_ids, owner=owner, not_checked_since=parse_datetime(dispatched_at))
    return {"claimed": len(done), "checked": len(done)}


@shared_task(
    name="accounts.check_job_batch",
    acks_late=True,
    soft_time_limit=settings.CHECK_TASK_TIME_LIMIT,
    time_limit=settings.CHECK_TASK_TIME_LIMIT + settings.TASK_KILL_GRACE_SECONDS,
)
def check_job_batch_task(job_id: str, account_ids: list[int]) -> int:
    """Checks someone asked for (console, API): one batch of a job, its results added to the job."""
    from accounts.services.check_jobs import check_job_batch_run

    return check_job_batch_run(job_id, account_ids)


@shared_task(name="accounts.proxies_probe")
def proxies_probe_task() -> int:
    """Beat: test the proxies in use; returns how many are up."""
    from accounts.services.proxies import proxies_probe

    return sum(1 for probe in proxies_probe() if probe.up)


@shared_task(name="accounts.checks_prune")
def checks_prune_task() -> int:
    return checks_prune()


@shared_task(name="accounts.endpoints_probe")
def endpoints_probe_task() -> int:
    return sum(1 for probe in endpoints_probe() if probe.reachable)


@shared_task(
    name="accounts.import_run",
    acks_late=True,
    soft_time_limit=settings.IMPORT_TASK_TIME_LIMIT,
    time_limit=settings.IMPORT_TASK_TIME_LIMIT + settings.TASK_KILL_GRACE_SECONDS,
)
def import_run_task(job_id: str) -> str:
    from accounts.services.imports import import_job_run

    return import_job_run(job_id).state


@shared_task(name="accounts.import_jobs_prune")
def jobs_prune_task() -> int:
    """Work in progress that no one finished: stale jobs, and sign-ins past their 10 minutes (their sealed
    state dropped); old finished ones go."""
    from accounts.services.imports import jobs_prune
    from accounts.services.logins import logins_prune

    return jobs_prune() + logins_prune()


@shared_task(name="accounts.vault_sweep")
def vault_sweep_task() -> int:
    """Vault entries no account or unfinished import names, an hour old or more (what a killed process left)."""
    from accounts.vault.sweep import vault_sweep

    return vault_sweep().removed


@shared_task(name="accounts.deep_checks_dispatch")
def deep_checks_dispatch_task() -> int:
    """Beat: queue the deep checks that are due, in small batches."""
    from accounts.services.deep_checks import deep_checks_dispatch

    batches = deep_checks_dispatch()
    for ids in batches:
        transaction.on_commit(lambda ids=ids: deep_checks_batch_task.delay(ids))
    return sum(len(ids) for ids in batches)


@shared_task(
    name="accounts.deep_checks_batch",
    acks_late=True,
    soft_time_limit=settings.DEEP_CHECK_TASK_TIME_LIMIT,
    time_limit=settings.DEEP_CHECK_TASK_TIME_LIMIT + settings.TASK_KILL_GRACE_SECONDS,
)
def deep_checks_batch_task(account_ids: list[int]) -> int:
    from accounts.services.deep_checks import deep_checks_run

    return len(deep_checks_run(account_ids, owner=f"deep:{current_task.request.id or 'eager'}"))
