"""Who is asking, from where: set per request by the middleware, read by audit_record."""

from __future__ import annotations

import contextlib
import contextvars
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("audit_request", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_context() -> RequestContext:
    return _current.get() or _NO_REQUEST


@contextlib.contextmanager
def request_context_as(context: RequestContext):
    """Write as from the request that was current then (a denial written after its transaction ended)."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry the outermost one wrote.

    A client can put anything at the left of the header; only the entries our own proxies appended count.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return request.META.get("REMOTE_ADDR")
    entries = [e.strip() for e in request.headers.get("X-Forwarded-For", "").split(",") if e.strip()]
    if len(entries) < count:
        return request.META.get("REMOTE_ADDR")
    return entries[-count]


class RequestContextMiddleware:
    """Gives every request an id (or keeps a well-formed X-Request-ID) and notes client IP and agent."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        ip = client_ip(request)
        token = _current.set(RequestContext(request_id, ip or None, request.headers.get("User-Agent", "")[:300]))
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            from audit.services import audit_denials_flush

            try:
                audit_denials_flush()  # denials whose transaction rolled back with the refusal
            finally:
                _current.reset(token)
        response["X-Request-ID"] = request_id
        return response
