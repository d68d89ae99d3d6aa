"""Celery adapters for the audit trail."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import task_postrun

logger = logging.getLogger(__name__)


@shared_task(name="audit.checkpoint")
def audit_checkpoint_task() -> int:
    """Checkpoint the head; a trail that no longer verifies raises a critical alert instead."""
    from alerts.models import Severity
    from alerts.services import alert_raise, alert_resolve
    from audit.checkpoints import CheckpointError, audit_checkpoint_write

    try:
        checkpoint = audit_checkpoint_write()
    except CheckpointError as exc:
        logger.error("Audit checkpoint refused: %s", exc)
        alert_raise(kind="audit.broken", severity=Severity.CRITICAL, key="chain", summary=str(exc))
        return 0
    alert_resolve(kind="audit.broken", key="chain")
    return checkpoint.sequence if checkpoint else 0


@task_postrun.connect(dispatch_uid="audit-denials-after-task", weak=False)
def _denials_after_task(**kwargs) -> None:
    """A task is a request of its own: denials whose transaction rolled back are written when it ends."""
    from audit.services import audit_denials_flush

    audit_denials_flush()
