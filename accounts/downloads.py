"""An exported session as an HTTP download: the one way the API and the admin hand it over."""

from django.http import HttpResponse

from accounts.services import SessionExport


def session_download(exported: SessionExport) -> HttpResponse:
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "no-store"  # a session must not linger in any cache
    return response
