"""Health over HTTP: quick JSON for load balancers, detailed for people and scripts, live and ready."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from health.checks.builtin import DatabaseCheck
from health.runner import _run, health_report

UNHEALTHY = "unhealthy"


@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches nothing else."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: this instance can serve: its database answers (not cached)."""
    report = _run([DatabaseCheck()])
    return JsonResponse(report.as_dict(detailed=True), status=503 if report.status == UNHEALTHY else 200)


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    detailed = request.GET.get("detailed", "").lower() in ("1", "true", "yes")
    if detailed and settings.HEALTH_DETAILED_REQUIRES_AUTH and not _authenticated(request):
        return JsonResponse({"detail": "log in or send a Bearer token for the detailed view"}, status=401)
    report = health_report()
    return JsonResponse(report.as_dict(detailed=detailed), status=503 if report.status == UNHEALTHY else 200)


@never_cache
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    if settings.HEALTH_DETAILED_REQUIRES_AUTH and not _authenticated(request):
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    report = health_report()
    status = 503 if report.status == UNHEALTHY else 200
    return render(request, "health/status.html", {"report": report}, status=status)


def _authenticated(request: HttpRequest) -> bool:
    if request.user.is_authenticated:
        return True
    from accounts.tokens import BearerTokenAuthentication

    try:
        return BearerTokenAuthentication().authenticate(request) is not None
    except AuthenticationFailed:
        return False
