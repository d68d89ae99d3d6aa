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


def admins_guard(site: admin.AdminSite) -> None:
    """Give every registered ModelAdmin the audit and the access rule (once); run when all apps have registered
    theirs, so third-party admins (users, groups, beat's schedules, axes) get them as ours do."""
    from audit.admin_audit import AuditedAdminMixin
    from project.access import RestrictedAdminMixin

    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, AuditedAdminMixin) and isinstance(model_admin, RestrictedAdminMixin):
            continue
        mixins = tuple(m for m in (AuditedAdminMixin, RestrictedAdminMixin) if not isinstance(model_admin, m))
        guarded = type(f"Guarded{type(model_admin).__name__}", (*mixins, type(model_admin)), {})
        site.unregister(model)
        site.register(model, guarded)
