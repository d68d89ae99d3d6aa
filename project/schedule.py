"""Every periodic job tgfleet runs, declared here and nowhere else.

Installed into django-celery-beat's tables after each migrate, so operators see
and change them in the admin. An operator's change to an installed job is kept;
a job removed from this list is disabled, not deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: int
    description: str


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        name="heartbeat",
        task="health.tasks.heartbeat_record",
        every_seconds=60,
        description="Proves beat, broker and a worker work together; health reads its age.",
    ),
    PeriodicJob(
        name="health-watch",
        task="health.watch",
        every_seconds=60,
        description="Runs the health checks; failing components raise alerts, recovered ones resolve them.",
    ),
    PeriodicJob(
        name="account-checks",
        task="accounts.checks_dispatch",
        every_seconds=30,
        description="Queues the accounts whose next check is due, in batches.",
    ),
    PeriodicJob(
        name="telegram-reachability",
        task="accounts.endpoints_probe",
        every_seconds=60,
        description="TCP connect latency to each configured Telegram endpoint.",
    ),
    PeriodicJob(
        name="proxies-probe",
        task="accounts.proxies_probe",
        every_seconds=120,
        description="Each proxy that carries accounts: through it to Telegram's address, latency, status.",
    ),
    PeriodicJob(
        name="alert-delivery",
        task="alerts.deliver",
        every_seconds=10,
        description="Sends what waits in the alert outbox; delivery resumes by itself after an outage.",
    ),
    PeriodicJob(
        name="check-history-prune",
        task="accounts.checks_prune",
        every_seconds=3600,
        description="Deletes successful checks' records older than CHECK_HISTORY_OK_HOURS, and other records and "
        "hourly counts older than CHECK_HISTORY_DAYS.",
    ),
    PeriodicJob(
        name="audit-checkpoint",
        task="audit.checkpoint",
        every_seconds=settings.AUDIT_CHECKPOINT_SECONDS,
        description="Verifies the audit trail and appends a signed checkpoint of its head to "
        "AUDIT_CHECKPOINT_FILE, announced in the alert chat; a broken trail raises a critical alert.",
    ),
    PeriodicJob(
        name="deep-checks",
        task="accounts.deep_checks_dispatch",
        every_seconds=300,
        description="Queues the deep checks that are due (spam block, freeze, restrictions, other sessions): each "
        "account once per its interval (a day by default), spread out, never beside its liveness check.",
    ),
    PeriodicJob(
        name="import-jobs-prune",
        task="accounts.import_jobs_prune",
        every_seconds=300,
        description="Fails imports no worker finished within a day (their sealed uploads are deleted); "
        "forgets finished imports after 30 days; ends sign-ins left past their 10 minutes (their sealed state is "
        "dropped).",
    ),
    PeriodicJob(
        name="vault-sweep",
        task="accounts.vault_sweep",
        every_seconds=3600,
        description="Deletes vault entries (sealed sessions, staged uploads, temp files) an hour old or more that "
        "no account and no unfinished import names: what a process killed between writing an entry and committing "
        "its row, or between deleting a row and its entry, left behind. Audited as vault.sweep.",
    ),
)

SCHEDULE_MARKER = {"installed_by": "tgfleet"}


def schedule_install(*, using: str = "default") -> dict[str, int]:
    """Create missing jobs, disable ones no longer declared. Returns counts."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    created = disabled = 0
    declared = {job.name for job in PERIODIC_JOBS}
    tasks = PeriodicTask.objects.using(using)
    with transaction.atomic(using=using):
        for job in PERIODIC_JOBS:
            if tasks.filter(name=job.name).exists():
                continue
            interval, _ = IntervalSchedule.objects.using(using).get_or_create(
                every=job.every_seconds, period=IntervalSchedule.SECONDS
            )
            tasks.create(
                name=job.name,
                task=job.task,
                interval=interval,
                description=job.description,
                kwargs="{}",
                headers=json.dumps(SCHEDULE_MARKER),
            )
            created += 1
        ours = tasks.filter(headers=json.dumps(SCHEDULE_MARKER), enabled=True)
        disabled = ours.exclude(name__in=declared).update(enabled=False)
    return {"created": created, "disabled": disabled}
