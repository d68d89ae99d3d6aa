"""tgfleet's admin site: the fleet dashboard as its index."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

from audit.services import audit_record
from project.console.dashboard import dashboard_for


class ConsoleSite(admin.AdminSite):
    site_header = "tgfleet"
    site_title = "tgfleet"
    index_title = "Fleet"
    index_template = "admin/console/dashboard.html"

    def password_change(self, request: HttpRequest, extra_context: dict | None = None):
        """One's own password change, audited in the same transaction: no event, no new password."""
        with transaction.atomic():
            response = super().password_change(request, extra_context)
            if request.method == "POST" and response.status_code == 302:
                audit_record(actor=request.user, action="auth.password_change", target=request.user)
        return response

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        context = {**dashboard_for(request.user), **(extra_context or {})}
        return super().index(request, extra_context=context)
