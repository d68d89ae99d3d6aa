"""Vault entries no row points to: what a killed process leaves between writing a sealed entry and committing its
row (an import's chunk, a new sign-in's session), or between deleting a row and deleting its entry (an account's
delete, a staged upload's end). Each still holds a sealed session, so they go, once they are old enough that no
transaction still open can be about to claim them."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.models import Job, JobKind, JobState, TelegramAccount
from accounts.vault.storage import session_storage
from audit.services import audit_record
from project.actors import SystemActor
from project.metrics import VAULT_OPERATIONS

logger = logging.getLogger(__name__)
GRACE = dt.timedelta(hours=1)  # far beyond any transaction that writes an entry before its row commits
_OURS = re.compile(r"(?:imports/)?(?:[0-9a-f]{32}\.tg[si]|\.tmp-[^/]+)")


@dataclass
class SweepReport:
    removed: int = 0
    temp_files: int = 0
    failed: int = 0


def vault_sweep(*, now: dt.datetime | None = None, grace: dt.timedelta = GRACE) -> SweepReport:
    """Delete the vault's entries (and temp files) older than ``grace`` that no account and no unfinished import
    names. Audited before anything is deleted: no record, no sweep. Names the vault does not use are left alone."""
    storage = session_storage()
    cutoff = ((now or timezone.now()) - grace).timestamp()
    old = [name for name, modified in storage.entries() if modified < cutoff and _OURS.fullmatch(name)]
    if not old:
        return SweepReport()
    # Rows are read after the listing: an entry old enough whose row commits later would need a transaction
    # open for longer than the grace.
    held = set(TelegramAccount.objects.values_list("vault_name", flat=True))
    unfinished = Job.objects.filter(kind=JobKind.IMPORT, state__in=[JobState.QUEUED, JobState.RUNNING])
    held |= {job.staged_name for job in unfinished.only("pk")}
    orphans = [name for name in old if name not in held]
    if not orphans:
        return SweepReport()
    temp_files = sum(1 for name in orphans if name.rsplit("/", 1)[-1].startswith(".tmp-"))
    report = SweepReport(temp_files=temp_files)
    with transaction.atomic():
        audit_record(actor=SystemActor("vault-sweep"), action="vault.sweep",
                     details={"entries": len(orphans) - temp_files, "temp_files": temp_files,
                              "older_than_seconds": int(grace.total_seconds())})  # fmt: skip
    for name in orphans:
        try:
            storage.delete(name)
        except OSError as exc:
            report.failed += 1
            logger.warning("Vault sweep could not delete %s (%s)", name, exc.strerror)
        else:
            report.removed += 1
    VAULT_OPERATIONS.labels("sweep").inc(report.removed)
    logger.warning("Vault sweep: deleted %s of %s entries no account or import names (%s of them temp files)",
                   report.removed, len(orphans), temp_files)  # fmt: skip
    return report
