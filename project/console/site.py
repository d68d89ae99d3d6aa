"""tgfleet's admin site: the fleet dashboard as its index."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

from audit.services import audit_record
from project.console.dashboard import dashboard_for

# Machinery operators rarely open: login lockouts and the raw schedule types behind periodic tasks.
ADVANCED = {"axes", "django_celery_beat.clockedschedule", "django_celery_beat.crontabschedule",
            "django_celery_beat.intervalschedule", "django_celery_beat.solarschedule"}  # fmt: skip


def _advanced(app_label: str, model) -> bool:
    return app_label in ADVANCED or f"{app_label}.{model['object_name'].lower()}" in ADVANCED


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

    def get_urls(self):
        from django.urls import path

        from project.console import two_factor_views as views

        def page(view):
            return self.admin_view(lambda request: view(self, request))

        return [
            path("two-factor/", page(views.two_factor_status), name="two-factor"),
            path("two-factor/setup/", page(views.two_factor_setup), name="two-factor-setup"),
            path("two-factor/verify/", page(views.two_factor_verify), name="two-factor-verify"),
            *super().get_urls(),
        ]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The apps as Django lists them, with the advanced machinery gathered last under "Advanced"."""
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        main, advanced = [], []
        for app in apps:
            kept = [m for m in app["models"] if not _advanced(app["app_label"], m)]
            advanced += [m for m in app["models"] if _advanced(app["app_label"], m)]
            if kept:
                main.append({**app, "models": kept})
        if advanced:
            main.append({"name": "Advanced", "app_label": "advanced", "app_url": "/admin/#advanced",
                         "has_module_perms": True, "models": advanced, "advanced": True})  # fmt: skip
        return main

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        apps = self.get_app_list(request)
        context = {**dashboard_for(request.user), "main_apps": [a for a in apps if not a.get("advanced")],
                   "advanced_apps": [a for a in apps if a.get("advanced")], **(extra_context or {})}  # fmt: skip
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
