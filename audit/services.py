"""Writing the audit trail. Call inside the action's own transaction: no event, no action."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from audit.chain import ChainHasher
from audit.context import request_context, request_context_as
from audit.models import AuditChainHead, AuditEvent, Outcome


class AuditUnavailableError(Exception):
    """The event could not be written, so the action it records was refused."""


def audit_record(
    *,
    actor,
    action: str,
    outcome: str = Outcome.ALLOWED,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_text: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain. Raises if it cannot be written; the caller's transaction then fails."""
    event = AuditEntry(action, outcome=outcome, target=target, target_type=target_type, target_id=target_id,
                       target_text=target_text, details=details)  # fmt: skip
    return audit_record_many(actor=actor, entries=[event])[0]


@dataclass(frozen=True)
class AuditEntry:
    """One event of a batch (`audit_record_many`): what `audit_record` takes, less the actor."""

    action: str
    outcome: str = Outcome.ALLOWED
    target: models.Model | None = None
    target_type: str = ""
    target_id: str = ""
    target_text: str = ""
    details: dict | None = None


def audit_record_many(*, actor, entries: list[AuditEntry]) -> list[AuditEvent]:
    """Append a batch of one actor's events, in order, under one lock of the chain head and one insert (a chunk
    of an import). Each event is chained and hashed exactly as `audit_record` would; all or none is written."""
    if not entries:
        return []
    context = request_context()
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    actor_name = _actor_name(actor)
    rows = []
    for entry in entries:
        target_type, target_id, target_text = entry.target_type, entry.target_id, entry.target_text
        if entry.target is not None:
            target_type = target_type or entry.target._meta.label_lower
            target_id = target_id or str(entry.target.pk)
            target_text = target_text or str(entry.target)[:200]
        rows.append({
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": entry.action,
            "target_type": target_type,
            "target_id": str(target_id)[:64],
            "target_text": target_text[:200],
            "outcome": str(entry.outcome),
            "request_id": context.request_id,
            "client_ip": _ip(context.client_ip),
            "user_agent": context.user_agent,
            "details": entry.details or {},
        })  # fmt: skip
    try:
        return _append(rows)
    except DatabaseError:
        raise AuditUnavailableError("the audit trail could not be written, so the action was refused") from None


def _append(rows: list[dict]) -> list[AuditEvent]:
    with transaction.atomic():
        # Never recreated here: a missing head means the trail was deleted, and a new chain from #1 would
        # hide that. Appending fails (and so the action) until someone looks.
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            raise AuditUnavailableError("the audit chain head is missing; run verify_audit, nothing is recorded")
        now = timezone.now()
        occurred_at = max(now, head.occurred_at) if head.occurred_at else now
        hasher, prev_hash, events = ChainHasher(), head.hash, []
        for number, row in enumerate(rows, start=head.sequence + 1):
            fields = {"sequence": number, "occurred_at": occurred_at, **row}
            digest = hasher.event_hash(prev_hash, fields)
            events.append(AuditEvent(prev_hash=prev_hash, hash=digest, **fields))
            prev_hash = digest
        AuditEvent.objects.bulk_create(events)
        AuditChainHead.objects.filter(pk=1).update(
            sequence=events[-1].sequence, hash=prev_hash, occurred_at=occurred_at
        )
    return events


def audit_denied(*, actor, action: str, target: models.Model | None = None, **kwargs) -> AuditEvent | None:
    """Record a refused attempt so that the refusal that follows cannot roll it back.

    Outside a transaction it is written at once, in its own. Inside one (an admin form's, a service's), a
    savepoint would go down with the rollback the refusal causes: the denial waits, and is written when that
    transaction commits or, if it rolls back, when the request (or task) ends (`audit_denials_flush`).
    """
    fields = {"actor": actor, "action": action, "outcome": Outcome.DENIED, "target": target, **kwargs}
    if not _in_transaction():
        with transaction.atomic():
            return audit_record(**fields)
    pending = _pending_denials.get()
    if pending is None:
        pending = []
        _pending_denials.set(pending)
    pending.append((fields, request_context()))
    transaction.on_commit(audit_denials_flush)
    return None


_pending_denials: contextvars.ContextVar[list | None] = contextvars.ContextVar("audit_pending_denials", default=None)


def audit_denials_flush() -> int:
    """Write the denials that waited for their transaction to end; each once, each in its own transaction."""
    pending = _pending_denials.get()
    written = 0
    while pending:
        fields, context = pending.pop(0)
        with request_context_as(context), transaction.atomic():
            audit_record(**fields)
        written += 1
    return written


def _in_transaction() -> bool:
    """In a transaction of the app's own (the test runner's wrapping atomic does not count)."""
    from django.db import connection

    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def audit_secret_digest(value: str) -> str:
    """Store this instead of a secret: equal secrets match, the secret itself cannot be read back."""
    key = (settings.AUDIT_HMAC_KEY or settings.SECRET_KEY).encode("utf-8")
    return "hmac-sha256:" + hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _actor_name(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "anonymous"
    return actor.get_username()[:150]


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
