"""The trail over HTTP: a filtered, cursor-paginated list and a JSON Lines export."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from audit.filters import AuditEventFilter
from audit.jsonl import audit_export_record, audit_jsonl_response
from audit.models import AuditEvent
from audit.serializers import AuditEventSerializer
from project.pagination import page_size_strict


class AuditCursor(CursorPagination):
    ordering = "-sequence"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        page_size_strict(request, self.page_size_query_param, self.max_page_size)
        return super().get_page_size(request)


class CanReadAudit(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("audit.view_auditevent"))


@extend_schema(tags=["audit"])
class AuditEventList(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = AuditCursor
    permission_classes = [CanReadAudit]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return AuditEvent.objects.restrict(self.request.user)


class AuditEventExport(generics.GenericAPIView):
    """The same filters as the list, applied by the same FilterSet, streamed whole."""

    permission_classes = [CanReadAudit]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter
    pagination_class = None

    def get_queryset(self):
        return AuditEvent.objects.restrict(self.request.user)

    @extend_schema(
        operation_id="audit_events_jsonl",
        filters=True,
        tags=["audit"],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        description="JSON Lines, oldest first",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        events = self.filter_queryset(self.get_queryset())
        audit_export_record(actor=request.user, filters=request.query_params)
        return audit_jsonl_response(events)
