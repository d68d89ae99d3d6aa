"""The audit trail: append-only rows chained by hashes, so a changed, missing or reordered row shows."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from project.access import RestrictedQuerySet

GENESIS_HASH = "0" * 64


class AuditImmutableError(Exception):
    """Audit events are never updated or deleted."""


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


class AuditEventQuerySet(RestrictedQuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("audit events cannot be updated")

    def delete(self):
        raise AuditImmutableError("audit events cannot be deleted")


class AuditEvent(models.Model):
    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    # No database constraint: deleting a user must not touch (and so break) the trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_text = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        # Pages are newest-first by sequence, so each filter's index ends in sequence.
        indexes = [
            models.Index(fields=["occurred_at", "sequence"]),
            models.Index(fields=["action", "sequence"]),
            models.Index(fields=["actor_name", "sequence"]),
            models.Index(fields=["target_type", "target_id", "sequence"]),
            models.Index(fields=["outcome", "sequence"]),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.actor_name} {self.action} {self.outcome}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditImmutableError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError("audit events cannot be deleted")


class AuditChainHead(models.Model):
    """The latest sequence and hash; locked while appending so the chain has one order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # Times never go backwards along the chain, so a time bound maps exactly to a sequence bound.
    occurred_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"audit head at #{self.sequence}"
