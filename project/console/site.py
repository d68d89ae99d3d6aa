"""tgfleet's admin site: the fleet dashboard as its index."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from project.console.dashboard import dashboard_for


class ConsoleSite(admin.AdminSite):
    site_header = "tgfleet"
    site_title = "tgfleet"
    index_title = "Fleet"
    index_template = "admin/console/dashboard.html"

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {**dashboard_for(request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)
