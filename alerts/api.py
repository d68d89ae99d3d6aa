"""Alert routes, their statistics, and sending a test message."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import Route
from alerts.selectors import delivery_totals, routes_with_stats
from alerts.services import alert_test_send, route_default
from audit.services import audit_denied


class CanViewRoutes(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("alerts.view_route"))


class RouteStatsSerializer(serializers.ModelSerializer):
    delivery_latency_seconds = serializers.SerializerMethodField()
    sent = serializers.IntegerField(help_text="notifications delivered")
    failed = serializers.IntegerField(help_text="notifications given up on, or lost mid-request (unconfirmed)")
    suppressed = serializers.IntegerField(help_text="not sent: inside the cooldown, or resolved before sending")
    silenced = serializers.IntegerField(help_text="not sent: a silence covered them")
    pending = serializers.IntegerField(help_text="waiting, taken by a sweep or on the wire")
    last_success_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Route
        fields = ["id", "name", "kind_pattern", "min_severity", "chat_id", "thread_id", "enabled", "disabled_reason",
                  "cooldown_seconds", "repeat_seconds", "sent", "failed", "suppressed", "silenced", "pending",
                  "last_error", "last_error_at", "last_success_at", "delivery_latency_seconds"]  # fmt: skip

    def get_delivery_latency_seconds(self, route) -> float | None:
        return route.delivery_latency.total_seconds() if route.delivery_latency else None


class DeliveryTotalsSerializer(serializers.Serializer):
    """Notifications by delivery state, over every route."""

    pending = serializers.IntegerField()
    claimed = serializers.IntegerField()
    in_flight = serializers.IntegerField()
    sent = serializers.IntegerField()
    unconfirmed = serializers.IntegerField()
    failed = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    silenced = serializers.IntegerField()


class AlertStatsSerializer(serializers.Serializer):
    overall = DeliveryTotalsSerializer()
    routes = RouteStatsSerializer(many=True)


class AlertStats(APIView):
    permission_classes = [CanViewRoutes]

    @extend_schema(responses={200: AlertStatsSerializer}, description="Delivery statistics per route and overall.")
    def get(self, request: Request) -> Response:
        routes = RouteStatsSerializer(routes_with_stats(request.user), many=True).data
        return Response({"overall": delivery_totals(), "routes": routes})


class TestRequest(serializers.Serializer):
    route = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="route id; the default route when omitted"
    )


class TestSent(serializers.Serializer):
    sent = serializers.BooleanField()
    route = serializers.CharField()
    message_id = serializers.IntegerField(allow_null=True)


class TestFailed(serializers.Serializer):
    sent = serializers.BooleanField()
    error = serializers.CharField(help_text="what the Bot API (or the missing configuration) said")


class AlertTest(APIView):
    @extend_schema(request=TestRequest, responses={200: TestSent, 502: TestFailed},
                   description="Send a test message to a route.")  # fmt: skip
    def post(self, request: Request) -> Response:
        form = TestRequest(data=request.data)
        form.is_valid(raise_exception=True)
        lookup = {"pk": form.validated_data["route"]} if "route" in form.validated_data else {"name": "default"}
        if "route" not in form.validated_data:
            route_default()  # TELEGRAM_CHAT_ID's route exists before its first alert
        route = Route.objects.restrict(request.user).filter(**lookup).first()
        if route is None:  # no such route, or not one this user may see: the same answer, and recorded
            audit_denied(actor=request.user, action="alerts.test", target_type="alerts.route",
                         target_id=str(lookup.get("pk", "")), details={"reason": "not visible", **lookup})  # fmt: skip
            raise Http404("No such route.")
        result = alert_test_send(actor=request.user, route=route)
        if not result.ok:
            return Response({"sent": False, "error": result.error}, status=status.HTTP_502_BAD_GATEWAY)
        return Response({"sent": True, "route": route.name, "message_id": result.message_id})


@extend_schema(exclude=True)
class AlertTestLegacy(AlertTest):
    """The earlier system's path, kept for its scripts; not in the schema (use /alerts/test)."""
