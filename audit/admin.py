from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent
from audit.selectors import audit_events_visible_to


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: events are never added, changed or deleted here."""

    list_display = ["sequence", "occurred_at", "actor_name", "action", "target_text", "outcome", "client_ip"]
    list_filter = ["outcome", "action", "target_type", "occurred_at"]
    search_fields = ["actor_name", "target_text", "target_id", "request_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest):
        return audit_events_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
