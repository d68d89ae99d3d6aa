"""Checks a person asks for ("Check now" in the console, the API): never run inside their request.

The request decides permissions (refusals audited, each allowed check audited), makes a Job and queues its
batches for workers; it may wait a few seconds for a single account's result. Each batch's worker appends its
results to the job under the row's lock, so the job's page and the API can show progress; the last batch
finishes the job. A batch delivered twice (a worker lost mid-way) adds nothing twice.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Job, JobKind, JobState, TelegramAccount
from accounts.services.checks import CheckDone, checks_claim_run, checks_request

logger = logging.getLogger(__name__)
WAIT_POLL_SECONDS = 0.1


def check_job_create(*, actor, accounts: list[TelegramAccount]) -> Job:
    """Queue checks of these accounts (those the actor may check) as one job; refusals are its first results."""
    requested = checks_request(actor=actor, accounts=accounts)
    refused = [_result(account.pk, account.label, "refused", reason) for account, reason in requested.refused]
    ids = [pk for batch in requested.batches for pk in batch]
    job = Job.objects.create(kind=JobKind.CHECK, created_by=actor, account_ids=ids, total=len(ids) + len(refused),
                             processed=len(refused), results=refused)  # fmt: skip
    if not ids:
        _finish_if_complete(job.pk)
        return Job.objects.get(pk=job.pk)
    from accounts.tasks import check_job_batch_task

    for batch in requested.batches:
        transaction.on_commit(lambda batch=batch: check_job_batch_task.delay(str(job.pk), batch))
    return job


def check_job_batch_run(job_id: str, account_ids: list[int]) -> int:
    """A worker checks one batch of a job and adds its results; returns how many it added."""
    job = Job.objects.filter(pk=job_id, kind=JobKind.CHECK).first()
    if job is None or job.finished:
        return 0
    Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(state=JobState.RUNNING, started_at=timezone.now())
    owner = f"job:{job.pk.hex[:12]}"
    # Each lease claimed goes with its result or (failing) without: no release after.
    done: list[CheckDone] = checks_claim_run(account_ids, owner=owner)
    labels = dict(TelegramAccount.objects.filter(pk__in=account_ids).values_list("pk", "label"))
    checked = {d.account_id for d in done}
    results = [_done_result(d, labels.get(d.account_id, "")) for d in done]
    results += [
        _result(pk, labels[pk], "busy", "being checked elsewhere right now; try again shortly")
        if pk in labels else _result(pk, "", "gone", "the account was deleted")
        for pk in account_ids if pk not in checked
    ]  # fmt: skip
    return _results_add(job.pk, results)


def _results_add(job_id, results: list[dict]) -> int:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return 0
        have = {r["account_id"] for r in job.results}
        new = [r for r in results if r["account_id"] not in have]
        job.results = [*job.results, *new]
        job.processed = len(job.results)
        job.save(update_fields=["results", "processed"])
    _finish_if_complete(job_id)
    return len(new)


def _finish_if_complete(job_id) -> None:
    complete = Job.objects.filter(pk=job_id, state__in=[JobState.QUEUED, JobState.RUNNING],
                                  processed__gte=F("total"))  # fmt: skip
    if complete.update(state=JobState.DONE, finished_at=timezone.now()):
        logger.info("Check job %s done", job_id)


def check_job_wait(job: Job, *, seconds: float | None = None) -> Job:
    """The job as it stands once finished, or after `seconds` (CHECK_NOW_WAIT_SECONDS) if it is not yet."""
    seconds = settings.CHECK_NOW_WAIT_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    while True:
        job.refresh_from_db()
        if job.finished or time.monotonic() >= deadline:
            return job
        time.sleep(WAIT_POLL_SECONDS)


def _done_result(done: CheckDone, label: str) -> dict:
    moved = f"status {done.previous_status} → {done.status}" if done.previous_status != done.status else ""
    detail = "; ".join(part for part in (done.result.detail, moved) if part)
    return {**_result(done.account_id, label, str(done.result.outcome), detail), "status": done.status,
            "previous_status": done.previous_status, "latency_ms": done.result.latency_ms}  # fmt: skip


def _result(account_id: int, label: str, outcome: str, reason: str) -> dict:
    """One account's line, in the shape an import's file line has (name, result, account, reason)."""
    return {"account_id": account_id, "name": label, "result": outcome, "reason": reason[:300]}
