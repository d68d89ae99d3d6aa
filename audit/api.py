"""The trail over HTTP: a filtered, cursor-paginated list and a JSON Lines export."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.jsonl import audit_export_record, audit_jsonl_response
from audit.models import AuditEvent
from audit.selectors import FILTERS, AuditFilterError, audit_events_filter
from audit.serializers import AuditEventSerializer
from project.pagination import page_size_strict

PARAMETERS = [OpenApiParameter(name, OpenApiTypes.STR, description=f"filter by {name}") for name in FILTERS]


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


def _filtered(request: Request):
    try:
        return audit_events_filter(AuditEvent.objects.restrict(request.user), request.query_params)
    except AuditFilterError as exc:
        raise ValidationError({"detail": str(exc)}) from None


@extend_schema(parameters=PARAMETERS)
class AuditEventList(generics.ListAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = AuditCursor
    permission_classes = [CanReadAudit]

    def get_queryset(self):
        return _filtered(self.request)


class AuditEventExport(APIView):
    permission_classes = [CanReadAudit]

    @extend_schema(
        parameters=PARAMETERS,
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        description="JSON Lines, oldest first",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        events = _filtered(request)
        audit_export_record(actor=request.user, filters=request.query_params)
        return audit_jsonl_response(events)
