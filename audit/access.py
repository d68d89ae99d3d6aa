"""Who may read the trail: the auditor and admin roles, all of it. Nobody changes or deletes an event."""

from __future__ import annotations

from django.db.models import QuerySet

from project.access import access_rule


@access_rule("audit.AuditEvent")
def audit_events_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    if action == "view" and (user.is_superuser or user.has_perm("audit.view_auditevent")):
        return queryset
    return queryset.none()
