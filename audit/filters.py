"""The trail's query filters, declared once (django-filter): the API applies them and the schema says them."""

from __future__ import annotations

import django_filters

from audit.models import AuditEvent, Outcome
from audit.selectors import audit_events_filter
from project.filtering import StrictFilterForm, UTCDateTimeFilter

TIME_FORMAT = "{name} must be an ISO 8601 date and time, e.g. 2026-11-28T10:00:00Z"


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(method="_exact", max_length=150, help_text="the actor's name, e.g. alice")
    action = django_filters.CharFilter(method="_exact", max_length=100, help_text="e.g. session.export")
    target_type = django_filters.CharFilter(method="_exact", max_length=100, help_text="e.g. accounts.telegramaccount")
    target_id = django_filters.CharFilter(method="_exact", max_length=64, help_text="the target's id")
    outcome = django_filters.ChoiceFilter(method="_exact", choices=Outcome.choices)
    since = UTCDateTimeFilter(method="_exact", help_text="events at or after, ISO 8601",
                                             error_messages={"invalid": TIME_FORMAT.format(name="since")})  # fmt: skip
    until = UTCDateTimeFilter(method="_exact", help_text="events before, ISO 8601",
                                             error_messages={"invalid": TIME_FORMAT.format(name="until")})  # fmt: skip

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = StrictFilterForm

    def _exact(self, queryset, name: str, value):
        # One selector applies every filter (the console's sidebar uses it too): times become sequence bounds.
        return audit_events_filter(queryset, {name: value})
