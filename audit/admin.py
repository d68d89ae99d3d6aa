from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import path

from audit.admin_filters import ActorFilter, SinceFilter, TargetIdFilter, UntilFilter
from audit.jsonl import audit_export_record, audit_jsonl_response
from audit.models import AuditEvent
from audit.selectors import AuditFilterError, audit_time


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit browser. Read-only: events are never added, changed or deleted here."""

    list_display = ["sequence", "occurred_at", "actor_name", "action", "target_text", "outcome", "client_ip"]
    list_filter = ["outcome", ActorFilter, "action", "target_type", TargetIdFilter, SinceFilter, UntilFilter]
    search_fields = ["actor_name", "target_text", "target_id", "request_id"]
    show_full_result_count = False
    list_per_page = 100
    change_list_template = "admin/audit/auditevent/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """A filter value that makes no sense is named in a message and dropped, not answered with "?e=1"."""
        for name in ("since", "until"):
            if request.GET.get(name):
                try:
                    audit_time(name, request.GET[name])
                except AuditFilterError as exc:
                    messages.error(request, str(exc))
                    query = request.GET.copy()
                    del query[name]
                    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        return super().changelist_view(request, {"title": "Audit trail", **(extra_context or {})})

    def get_urls(self):
        export = path("export.jsonl", self.admin_site.admin_view(self.export_view), name="audit_auditevent_export")
        return [export, *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The events the browser shows with the same filters and search, as JSON Lines, oldest first."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(f"{exc}\n", content_type="text/plain; charset=utf-8")
        audit_export_record(actor=request.user, filters=request.GET)
        return audit_jsonl_response(changelist.get_queryset(request))
