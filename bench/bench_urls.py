"""The project's URLs, plus the two baselines: a bare JSON view and django-health-check with our checks."""

import asyncio
import datetime

from django.http import JsonResponse
from django.urls import include, path
from health_check.views import HealthCheckView

from health.checks import BUILTIN


def bare(request):
    return JsonResponse({"status": "healthy"})


def _adapted(check_class):
    """Our check as a django-health-check check: the same work, its way of reporting."""

    from health_check.base import HealthCheck as Base

    class Check(Base):
        timeout = datetime.timedelta(seconds=check_class.timeout)

        def __repr__(self) -> str:
            return check_class.name

        async def run(self) -> None:
            from health_check.exceptions import ServiceUnavailable

            try:
                finding = await asyncio.to_thread(check_class().run)
            except Exception as exc:
                raise ServiceUnavailable(type(exc).__name__) from None
            if not finding.ok:
                raise ServiceUnavailable(finding.message)

    return Check


urlpatterns = [
    path("bench/bare", bare),
    path("bench/django-health-check", HealthCheckView.as_view(checks=[_adapted(c) for c in BUILTIN])),
    path("", include("project.urls")),
]
