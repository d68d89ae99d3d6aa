"""The audit browser's filters: the same filters as the API (audit.selectors), typed into the admin's sidebar."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

from audit.selectors import AuditFilterError, audit_events_filter


class TextFilter(admin.SimpleListFilter):
    """A text box in the filter sidebar; the value goes through audit_events_filter under `parameter_name`."""

    template = "admin/audit/text_filter.html"
    placeholder = ""

    def __init__(self, request, params, model, model_admin) -> None:
        self.query = [(k, v) for k, values in request.GET.lists() if k not in (self.parameter_name, "p")
                      for v in values]  # fmt: skip
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [("", "")]  # one row: the box itself

    def choices(self, changelist):
        yield {"query": self.query, "value": self.value() or "", "placeholder": self.placeholder}

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return audit_events_filter(queryset, {self.parameter_name: self.value()})
        except AuditFilterError as exc:
            raise IncorrectLookupParameters(str(exc)) from exc


class ActorFilter(TextFilter):
    title = parameter_name = "actor"
    placeholder = "user name"


class TargetIdFilter(TextFilter):
    title = "target id"
    parameter_name = "target_id"
    placeholder = "e.g. an account's id"


class SinceFilter(TextFilter):
    title = parameter_name = "since"
    placeholder = "2026-11-28T10:00:00Z"


class UntilFilter(TextFilter):
    title = parameter_name = "until"
    placeholder = "2026-11-28T12:00:00Z"
