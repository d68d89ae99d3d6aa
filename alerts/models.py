"""Alerts, where they go, what is muted, and the outbox every notification passes through."""

from __future__ import annotations

import fnmatch

from django.conf import settings
from django.db import models
from django_prometheus.models import ExportModelOperationsMixin

from project.access import RestrictedQuerySet


class Severity(models.IntegerChoices):
    INFO = 10, "info"
    WARNING = 20, "warning"
    CRITICAL = 30, "critical"


class Route(models.Model):
    """Alerts of matching kinds and at least this severity go to this chat."""

    name = models.CharField(max_length=100, unique=True)
    kind_pattern = models.CharField(max_length=100, default="*", help_text="glob, e.g. account.* or health.*")
    min_severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.WARNING)
    chat_id = models.CharField(max_length=32, help_text="Telegram chat id, e.g. -1001234567890")
    thread_id = models.BigIntegerField(null=True, blank=True, help_text="forum topic, if any")
    cooldown_seconds = models.PositiveIntegerField(default=300)
    repeat_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="remind while firing; empty: never")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # How many were sent, failed, suppressed or silenced, and the last success, are counted from the outbox
    # (alerts.selectors.routes_with_stats), never kept here.
    last_error = models.CharField(max_length=300, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("send_test", "Can send a test message to a route")]

    def __str__(self) -> str:
        return f"{self.name} → {self.chat_id}"

    def matches(self, kind: str, severity: int) -> bool:
        return self.enabled and severity >= self.min_severity and fnmatch.fnmatchcase(kind, self.kind_pattern)


class Silence(models.Model):
    kind_pattern = models.CharField(max_length=100, default="*")
    key_pattern = models.CharField(max_length=200, default="*")
    until = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-until"]

    def __str__(self) -> str:
        return f"{self.kind_pattern} / {self.key_pattern} until {self.until:%Y-%m-%d %H:%M}"

    def covers(self, kind: str, key: str) -> bool:
        return fnmatch.fnmatchcase(kind, self.kind_pattern) and fnmatch.fnmatchcase(key, self.key_pattern)


class AlertState(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"


class Alert(ExportModelOperationsMixin("alert"), models.Model):
    """One problem, identified by its fingerprint (kind + key); repeats bump its counter."""

    fingerprint = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=100, db_index=True)
    key = models.CharField(max_length=200)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=AlertState.choices, default=AlertState.FIRING, db_index=True)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Someone has seen it and is on it; cleared when it fires again after resolving.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")  # fmt: skip

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen"]
        permissions = [("acknowledge_alert", "Can acknowledge alerts")]

    def __str__(self) -> str:
        return f"[{self.state}] {self.kind} {self.key}"


class Delivery(models.TextChoices):
    PENDING = "pending"
    CLAIMED = "claimed"  # taken by a sweep, not yet on the wire: safe to take back
    IN_FLIGHT = "in_flight"  # the request is on its way: never sent again
    SENT = "sent"
    UNCONFIRMED = "unconfirmed"  # its sender died mid-request; Telegram may have it, so it is not resent
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    SILENCED = "silenced"


class Notification(ExportModelOperationsMixin("notification"), models.Model):
    """The outbox: every notification is a row first, then a message."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=10)  # firing, reminder, resolved
    state = models.CharField(max_length=12, choices=Delivery.choices, default=Delivery.PENDING)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    summarised = models.BooleanField(default=False, help_text="counted in a summary rather than named")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["route", "state"]),
            models.Index(fields=["state", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.alert_id} → {self.route_id} [{self.state}]"


class ChatPace(models.Model):
    """Recent sends to a chat, so every sweep keeps Telegram's per-chat pace."""

    chat_id = models.CharField(max_length=32, primary_key=True)
    sent_at = models.JSONField(default=list)  # unix times of the last minute's sends
    blocked_until = models.DateTimeField(null=True, blank=True)  # from a 429's retry_after

    def __str__(self) -> str:
        return f"pace {self.chat_id}"
