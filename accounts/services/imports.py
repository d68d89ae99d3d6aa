"""Imports that run as a task: the upload waits sealed in the vault, the worker imports it and reports progress."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import time
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Job, JobKind, JobState, Team, TelegramAccount
from accounts.services.sessions import ImportOutcome, ImportReport, session_import
from accounts.services.teams import TeamChoiceError, team_for_import
from accounts.sessions import InputFile
from accounts.vault.crypto import VaultKeyError, vault_keys
from accounts.vault.sealed import seal_bytes, unseal_bytes
from accounts.vault.storage import session_storage
from audit.services import audit_denied

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.25
STALE_AFTER = dt.timedelta(days=1)
KEEP_FINISHED = dt.timedelta(days=30)


def import_job_create(*, actor, files: Iterable[InputFile], team: Team | None = None) -> Job:
    """Seal the uploaded files into the vault and queue their import; the task gets only the job's id."""
    if not actor.has_perm("accounts.add_telegramaccount"):
        audit_denied(actor=actor, action="session.import")
        raise PermissionDenied("you may not import sessions")
    team = team_for_import(actor=actor, team=team)
    files = list(files)
    job = Job(created_by=actor, team=team, uploaded=[f.name[-200:] for f in files])
    session_storage().save(job.staged_name, ContentFile(_seal_upload(files)))
    try:
        job.save()
    except BaseException:
        session_storage().delete(job.staged_name)
        raise
    from accounts.tasks import import_run_task

    transaction.on_commit(lambda: import_run_task.delay(str(job.pk)))
    return job


def import_job_run(job_id: str) -> Job:
    """Import one queued job (the worker's side); safe to call again for a job already finished.

    A job still `running` is one whose worker was lost mid-way (its task is delivered again only then): it is
    run again from the start, and the sessions its lost attempt stored count as imported, not as duplicates.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update(of=("self",)).select_related("created_by", "team").get(pk=job_id)
        if job.state not in (JobState.QUEUED, JobState.RUNNING):
            return job
        resumed = job.state == JobState.RUNNING
        if not resumed:
            job.state, job.started_at = JobState.RUNNING, timezone.now()
        else:
            logger.warning("Import %s resumed after its worker was lost", job.pk)
        job.processed = 0
        job.save(update_fields=["state", "started_at", "processed"])
    storage = session_storage()
    report = ImportReport()  # filled file by file: a failure part-way still reports what was stored
    try:
        with storage.open(job.staged_name, "rb") as handle:
            files = _unseal_upload(handle.read())
        session_import(
            actor=job.created_by,
            files=files,
            team=job.team,
            parsed_count=lambda n: Job.objects.filter(pk=job.pk).update(total=n),
            progress=_Progress(job.pk),
            report=report,
        )
    except (VaultKeyError, PermissionDenied, TeamChoiceError, FileNotFoundError, ValueError) as exc:
        _finish(job, JobState.FAILED, results=_results(report), error=_reason(exc))
    except Exception:
        logger.exception("Import %s failed", job.pk)
        _finish(job, JobState.FAILED, results=_results(report),
                error="the import failed unexpectedly; see the worker's log")  # fmt: skip
    else:
        _finish(job, JobState.DONE, results=_results(_earlier_attempt_counted(report, job, resumed=resumed)))
    finally:
        storage.delete(job.staged_name)
    job.refresh_from_db()
    return job


def _earlier_attempt_counted(report: ImportReport, job: Job, *, resumed: bool) -> ImportReport:
    """On a resumed job, the first file that duplicates an account the lost attempt stored (in this job's team,
    since it started, and not by this attempt) was imported by this job; later copies stay duplicates."""
    if not resumed:
        return report
    this_attempt = {o.account_id for o in report.outcomes if o.result == "imported"}
    ids = {o.account_id for o in report.outcomes if o.result == "duplicate" and o.account_id} - this_attempt
    earlier = set(TelegramAccount.objects.filter(pk__in=ids, created_at__gte=job.started_at, team=job.team)
                  .values_list("pk", flat=True)) if ids else set()  # fmt: skip
    outcomes = []
    for o in report.outcomes:
        if o.result == "duplicate" and o.account_id in earlier:
            earlier.discard(o.account_id)
            o = ImportOutcome(o.name, "imported", o.account_id)
        outcomes.append(o)
    report.outcomes = outcomes
    return report


def _results(report: ImportReport) -> list[dict]:
    return [{"name": o.name, "result": o.result, "account_id": o.account_id, "reason": o.reason}
            for o in report.outcomes]  # fmt: skip


def job_for(*, actor, job_id) -> Job:
    """A job (import or check) for its owner (or a superuser); anyone else gets DoesNotExist, as if it weren't
    there."""
    return Job.objects.restrict(actor).select_related("team").get(pk=job_id)


class _Progress:
    """Counts sessions done; writes the count at most every PROGRESS_EVERY_SECONDS (and at the end)."""

    def __init__(self, job_id) -> None:
        self.job_id, self.pending, self.written_at = job_id, 0, 0.0

    def __call__(self, done: int) -> None:
        self.pending += done
        now = time.monotonic()
        if now - self.written_at >= PROGRESS_EVERY_SECONDS:
            Job.objects.filter(pk=self.job_id).update(processed=F("processed") + self.pending)
            self.pending, self.written_at = 0, now


def _finish(job: Job, state: str, *, results: list | None = None, error: str = "") -> None:
    fields = {"state": state, "error": error, "finished_at": timezone.now()}
    if results is not None:
        fields.update(results=results, processed=len(results))
    Job.objects.filter(pk=job.pk).update(**fields)
    logger.info("Job %s (%s) %s", job.pk, job.kind, state)


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the uploaded files are gone from the vault (already imported, or removed)"
    return str(exc)[:300]


def _seal_upload(files: list[InputFile]) -> bytes:
    doc = json.dumps([{"name": f.name, "data": base64.b64encode(f.data).decode()} for f in files]).encode()
    return seal_bytes(doc, vault_keys())


def _unseal_upload(blob: bytes) -> list[InputFile]:
    doc = json.loads(unseal_bytes(blob, vault_keys()))
    return [InputFile(item["name"], base64.b64decode(item["data"])) for item in doc]


def job_progress(job: Job) -> dict:
    """What a job's page and the API poll: state, counts and each item's result (a check's as they come, an
    import's once done): name, result, account id and reason."""
    summary = {result: 0 for result in ("imported", "duplicate", "rejected")} if job.kind == JobKind.IMPORT else {}
    for item in job.results:
        summary[item["result"]] = summary.get(item["result"], 0) + 1
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "state": job.state,
        "finished": job.finished,
        "total": job.total,
        "processed": job.processed,
        "percent": 100 if job.finished else (int(100 * job.processed / job.total) if job.total else 0),
        "error": job.error,
        "summary": summary,
        "summary_text": _summary_text(job.kind, summary),
        "results": job.results if job.finished or job.kind == JobKind.CHECK else [],
    }


def _summary_text(kind: str, summary: dict[str, int]) -> str:
    if kind == JobKind.IMPORT:
        return f"Imported {summary['imported']}, duplicates {summary['duplicate']}, rejected {summary['rejected']}."
    return ", ".join(f"{result} {count}" for result, count in sorted(summary.items()))


def jobs_prune(*, now: dt.datetime | None = None) -> int:
    """Fail jobs no worker finished in time (deleting imports' sealed uploads); drop old finished jobs."""
    now = now or timezone.now()
    storage = session_storage()
    stale = Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING],
                                     created_at__lt=now - STALE_AFTER)  # fmt: skip
    for job in stale:
        if job.kind == JobKind.IMPORT:
            storage.delete(job.staged_name)
        _finish(job, JobState.FAILED, error=f"no worker finished this {job.kind} within a day; ask again")
    old = Job.objects.filter(state__in=[JobState.DONE, JobState.FAILED],
                                   created_at__lt=now - KEEP_FINISHED)  # fmt: skip
    return len(stale) + old.delete()[0]
