from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from alerts.botapi import UNCONFIGURED
from alerts.models import Alert, AlertState, Delivery, Notification, Route, Silence
from alerts.selectors import delivery_totals, routes_with_stats, silence_scope_error
from alerts.services import alert_test_send, alerts_acknowledge
from audit.services import audit_denied


class UnconfiguredWarning:
    """Every alerts page says so when no bot token is set: nothing is lost, but nothing goes out either."""

    def changelist_view(self, request: HttpRequest, extra_context=None):
        _warn_unconfigured(request)
        return super().changelist_view(request, extra_context)


def _warn_unconfigured(request: HttpRequest) -> None:
    if not settings.TELEGRAM_BOT_TOKEN:
        messages.warning(request, f"{UNCONFIGURED}; set it (and TELEGRAM_CHAT_ID) and restart.")


@admin.register(Route)
class RouteAdmin(UnconfiguredWarning, admin.ModelAdmin):
    list_display = ["name", "chat_id", "kind_pattern", "min_severity", "enabled", "sent", "failed", "suppressed",
                    "silenced", "pending", "last_success_at", "last_error"]  # fmt: skip
    readonly_fields = ["sent", "failed", "suppressed", "silenced", "pending", "last_success_at", "last_error",
                       "last_error_at"]  # fmt: skip
    actions = ["send_test"]
    change_list_template = "admin/alerts/route/change_list.html"
    change_form_template = "admin/alerts/route/change_form.html"

    def get_queryset(self, request: HttpRequest):
        return routes_with_stats(request.user)

    # Counted from the route's notification rows (routes_with_stats), so the list and the stats page agree.
    @admin.display(description="sent", ordering="sent")
    def sent(self, route: Route) -> int:
        return route.sent

    @admin.display(description="failed", ordering="failed")
    def failed(self, route: Route) -> int:
        return route.failed

    @admin.display(description="suppressed")
    def suppressed(self, route: Route) -> int:
        return route.suppressed

    @admin.display(description="silenced")
    def silenced(self, route: Route) -> int:
        return route.silenced

    @admin.display(description="pending")
    def pending(self, route: Route) -> int:
        return route.pending

    @admin.display(description="last success", ordering="last_success_at")
    def last_success_at(self, route: Route):
        return route.last_success_at

    def has_send_test_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("alerts.send_test")

    @admin.action(description="Send a test message", permissions=["send_test"])
    def send_test(self, request: HttpRequest, queryset) -> None:
        for route in queryset:
            try:
                result = alert_test_send(actor=request.user, route=route)
            except PermissionDenied as exc:
                messages.error(request, f"{route.name}: {exc}")
                continue
            level = messages.SUCCESS if result.ok else messages.ERROR
            messages.add_message(request, level, f"{route.name}: {'sent' if result.ok else result.error}")

    def get_urls(self):
        site = self.admin_site
        own = [
            path("stats/", site.admin_view(self.stats_view), name="alerts_route_stats"),
            path("<int:pk>/send-test/", site.admin_view(self.send_test_view), name="alerts_route_send_test"),
        ]
        return own + super().get_urls()

    def stats_view(self, request: HttpRequest) -> HttpResponse:
        """Delivery statistics: the outbox by state, each route's counters, recent failures, active silences."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        _warn_unconfigured(request)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Alert delivery",
            "totals": delivery_totals(),
            "routes": routes_with_stats(request.user),
            "firing": Alert.objects.restrict(request.user).filter(state=AlertState.FIRING).count(),
            "failures": Notification.objects.filter(
                state__in=[Delivery.FAILED, Delivery.UNCONFIRMED], alert__in=Alert.objects.restrict(request.user)
            )
            .select_related("alert", "route")
            .order_by("-created_at")[:10],
            "silences": Silence.objects.restrict(request.user).filter(until__gt=now),
            "can_send_test": self.has_send_test_permission(request),
        }
        return TemplateResponse(request, "admin/alerts/route/stats.html", context)

    def send_test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        route = get_object_or_404(Route.objects.restrict(request.user), pk=pk)
        self.send_test(request, Route.objects.filter(pk=route.pk))
        if request.POST.get("next") == "stats":
            return redirect("admin:alerts_route_stats")
        return redirect("admin:alerts_route_change", route.pk)


@admin.register(Silence)
class SilenceAdmin(UnconfiguredWarning, admin.ModelAdmin):
    list_display = ["kind_pattern", "key_pattern", "until", "reason", "created_by"]
    exclude = ["created_by"]

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        user = request.user

        class ScopedSilenceForm(form):
            def clean(self):
                cleaned = super().clean()
                problem = silence_scope_error(user, kind_pattern=cleaned.get("kind_pattern", ""),
                                              key_pattern=cleaned.get("key_pattern", ""))  # fmt: skip
                if problem:
                    audit_denied(
                        actor=user,
                        action="alerts.silence",
                        details={
                            "kind_pattern": cleaned.get("kind_pattern", ""),
                            "key_pattern": cleaned.get("key_pattern", ""),
                        },
                    )
                    raise forms.ValidationError(problem)
                return cleaned

        return ScopedSilenceForm

    def save_model(self, request: HttpRequest, obj: Silence, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Alert)
class AlertAdmin(UnconfiguredWarning, admin.ModelAdmin):
    list_display = ["kind", "subject", "severity", "state", "acknowledged", "count", "summary", "last_seen"]
    list_filter = ["state", "kind", "severity", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["key", "summary"]
    readonly_fields = [f.name for f in Alert._meta.fields]
    actions = ["acknowledge"]
    list_select_related = ["acknowledged_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="about", ordering="key")
    def subject(self, alert: Alert):
        """An account alert links to its account (the account page checks who may open it)."""
        if alert.kind.startswith("account.") and alert.key.isdigit():
            url = reverse("admin:accounts_telegramaccount_change", args=[alert.key])
            return format_html('<a href="{}">account {}</a>', url, alert.key)
        return alert.key

    @admin.display(description="acknowledged", ordering="acknowledged_at")
    def acknowledged(self, alert: Alert) -> str:
        if alert.acknowledged_at is None:
            return "—"
        who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "a deleted user"
        return f"{who}, {timezone.localtime(alert.acknowledged_at):%Y-%m-%d %H:%M}"

    @admin.action(description="Acknowledge: I have seen these and am on them")
    def acknowledge(self, request: HttpRequest, queryset) -> None:
        done = alerts_acknowledge(actor=request.user, alerts=list(queryset))
        self.message_user(request, f"Acknowledged {done} firing alert(s).", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(UnconfiguredWarning, admin.ModelAdmin):
    list_display = ["alert", "route", "event", "state", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["state", "event", "route"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
