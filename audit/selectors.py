"""Reading the trail: only for users who may, filtered as asked."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent, Outcome

FILTERS = ("actor", "action", "target_type", "target_id", "outcome", "since", "until")


class AuditFilterError(ValueError):
    pass


def audit_events_filter(queryset: QuerySet[AuditEvent], params) -> QuerySet[AuditEvent]:
    if params.get("actor"):
        queryset = queryset.filter(actor_name=params["actor"])
    if params.get("action"):
        queryset = queryset.filter(action=params["action"])
    if params.get("target_type"):
        queryset = queryset.filter(target_type=params["target_type"])
    if params.get("target_id"):
        queryset = queryset.filter(target_id=params["target_id"])
    if params.get("outcome"):
        if params["outcome"] not in Outcome.values:
            raise AuditFilterError(f"outcome must be one of {', '.join(Outcome.values)}")
        queryset = queryset.filter(outcome=params["outcome"])
    # Times are nondecreasing along the sequence (see AuditChainHead), so each time bound
    # becomes an exact sequence bound found through the time index: pages then start in the window.
    if params.get("since"):
        since = audit_time("since", params["since"])
        first = AuditEvent.objects.filter(occurred_at__gte=since).order_by("occurred_at", "sequence")
        bound = first.values_list("sequence", flat=True).first()
        queryset = queryset.filter(sequence__gte=bound, occurred_at__gte=since) if bound else queryset.none()
    if params.get("until"):
        until = audit_time("until", params["until"])
        last = AuditEvent.objects.filter(occurred_at__lt=until).order_by("-occurred_at", "-sequence")
        bound = last.values_list("sequence", flat=True).first()
        queryset = queryset.filter(sequence__lte=bound, occurred_at__lt=until) if bound else queryset.none()
    return queryset


def audit_time(name: str, value: str | dt.datetime) -> dt.datetime:
    """A time filter's value (text, or a time a form field already read), or AuditFilterError naming the filter
    and the form it takes."""
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise AuditFilterError(f"{name} must be an ISO 8601 date and time, e.g. 2026-11-28T10:00:00Z")
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)  # PostgreSQL takes offsets up to ±15:59 only; Python reads ±23:59
    except OverflowError:
        raise AuditFilterError(f"{name} is outside the calendar once in UTC") from None
