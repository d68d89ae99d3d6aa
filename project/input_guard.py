"""Refuse input no field of ours can hold before any view sees it: a NUL byte in the path or parameters.

PostgreSQL cannot store or even compare a string holding NUL, so each such value used to end as a 500
wherever it reached a query (audit filters, admin search, list filters). One refusal here covers them all.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL = "\x00"
_FORM = "application/x-www-form-urlencoded"


def request_nul_field(request: HttpRequest) -> str | None:
    """The name of the first part of the request that holds a NUL byte, or None."""
    if NUL in request.path:
        return "the path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            return f"query parameter {key.replace(NUL, '')!r}"
    if request.method == "POST" and request.content_type == _FORM:
        for key, values in request.POST.lists():
            if NUL in key or any(NUL in value for value in values):
                return f"form field {key.replace(NUL, '')!r}"
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = request_nul_field(request)
        if where is None:
            return self.get_response(request)
        message = f"{where} holds a NUL byte, which no value may contain"
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")
