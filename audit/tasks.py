"""Celery adapters for the audit trail."""

from __future__ import annotations

import logging

from celery import shared_task

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
