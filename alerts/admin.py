from django.contrib import admin, messages
from django.http import HttpRequest

from alerts.models import Alert, Notification, Route, Silence
from alerts.selectors import routes_with_stats
from alerts.services import alert_test_send


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["name", "chat_id", "kind_pattern", "min_severity", "enabled", "sent", "failed", "suppressed",
                    "silenced", "pending", "last_success_at", "last_error"]  # fmt: skip
    readonly_fields = ["sent", "failed", "suppressed", "silenced", "last_error", "last_error_at", "last_success_at"]
    actions = ["send_test"]

    def get_queryset(self, request: HttpRequest):
        return routes_with_stats()

    @admin.display(description="pending")
    def pending(self, route: Route) -> int:
        return route.pending

    @admin.action(description="Send a test message")
    def send_test(self, request: HttpRequest, queryset) -> None:
        for route in queryset:
            result = alert_test_send(actor=request.user, route=route)
            level = messages.SUCCESS if result.ok else messages.ERROR
            messages.add_message(request, level, f"{route.name}: {'sent' if result.ok else result.error}")


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["kind_pattern", "key_pattern", "until", "reason", "created_by"]
    exclude = ["created_by"]

    def save_model(self, request: HttpRequest, obj: Silence, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["kind", "key", "severity", "state", "count", "summary", "last_seen"]
    list_filter = ["state", "kind", "severity"]
    search_fields = ["key", "summary"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["alert", "route", "event", "state", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["state", "event", "route"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
