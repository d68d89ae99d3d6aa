"""API errors: an unwritable audit trail refuses the action with 503, never a bare 500."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.services import AuditUnavailableError


def exception_handler(exc, context):
    if isinstance(exc, AuditUnavailableError):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return drf_exception_handler(exc, context)
