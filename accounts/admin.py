"""Admin adapters: every list goes through the selector, every change through a service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import admin_users  # noqa: F401 - registers the user and group admins
from accounts.admin_filters import StandingFilter, VisibleTeamFilter
from accounts.admin_forms import ExportForm, ImportForm, TeamForm, team_field_limit
from accounts.admin_logins import AccountLoginPages
from accounts.admin_proxies import AccountProxyActions
from accounts.admin_standing import AccountStandingPages
from accounts.admin_tags import AccountTagActions
from accounts.console import account_page
from accounts.downloads import session_download
from accounts.models import ApiToken, Job, JobKind, Proxy, Team, TelegramAccount
from accounts.services import (
    account_delete,
    account_for_action,
    account_update,
    session_export,
    team_create,
    team_members_set,
)
from accounts.services.accounts import EDITABLE
from accounts.services.check_jobs import check_job_create, check_job_wait
from accounts.services.imports import import_job_create, job_for, job_progress
from accounts.services.proxies import proxy_assign
from accounts.services.teams import TeamChoiceError, team_spambot_set
from accounts.sessions import InputFile
from accounts.tokens import token_create, token_revoke
from accounts.vault.crypto import VaultKeyError
from audit.services import AuditUnavailableError
from project.access import restrict
from project.console.colours import STATUS_COLOURS


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "created_at"]
    search_fields = ["name"]
    form = TeamForm

    @admin.display(description="members")
    def member_count(self, team: Team) -> int:
        return team.group.user_set.count()

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None) -> list[str]:
        return ["name"] if obj else []

    def save_model(self, request: HttpRequest, obj: Team, form, change: bool) -> None:
        team = obj if change else team_create(actor=request.user, name=form.cleaned_data["name"])
        obj.pk, obj.group = team.pk, team.group
        team_members_set(actor=request.user, team=team, users=form.cleaned_data["members"])
        team_spambot_set(actor=request.user, team=team, enabled=form.cleaned_data.get("spambot_checks", False))


@admin.register(TelegramAccount)
class TelegramAccountAdmin(
    AccountLoginPages, AccountStandingPages, AccountTagActions, AccountProxyActions, admin.ModelAdmin
):
    list_display = ["label", "phone", "username", "status_badge", "last_checked_at", "last_outcome", "dc_id", "team",
                    "proxy", "tag_list", "source_format"]  # fmt: skip
    list_filter = ["status", VisibleTeamFilter, "tags", "source_format", "test_server", "standing__spam_blocked",
                   "standing__frozen", StandingFilter]  # fmt: skip
    search_fields = ["label", "phone", "username", "telegram_user_id"]
    readonly_fields = [
        "telegram_user_id",
        "dc_id",
        "test_server",
        "status",
        "api_id",
        "has_api_hash",
        "has_two_fa",
        "device",
        "source_format",
        "created_at",
        "updated_at",
    ]
    fields = ["label", "phone", "username", "team", "proxy", "notes", *readonly_fields]
    actions = ["check_now", "tags_edit", "proxy_assign_one", "proxy_spread"]
    list_per_page = 50
    change_list_template = "admin/accounts/telegramaccount/change_list.html"
    change_form_template = "admin/accounts/telegramaccount/change_form.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        from accounts.models import SavedFilter

        saved = SavedFilter.objects.restrict(request.user).order_by("name")
        return super().changelist_view(request, {"saved_filters": saved, **(extra_context or {})})

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("team", "proxy").prefetch_related("tags")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "proxy":
            kwargs["queryset"] = restrict(Proxy.objects.all(), request.user, "view")
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return team_field_limit(field, request.user) if db_field.name == "team" else field

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts come from session imports, never typed in

    def save_model(self, request: HttpRequest, obj: TelegramAccount, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        account_update(actor=request.user, account=TelegramAccount.objects.get(pk=obj.pk), **changes)
        if "proxy" in form.changed_data:
            try:
                proxy_assign(actor=request.user, accounts=[TelegramAccount.objects.get(pk=obj.pk)],
                             proxy=form.cleaned_data["proxy"])  # fmt: skip
            except ValueError as exc:  # no room left on it
                messages.error(request, str(exc))

    def delete_model(self, request: HttpRequest, obj: TelegramAccount) -> None:
        account_delete(actor=request.user, account=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for account in queryset:
            account_delete(actor=request.user, account=account)

    @admin.display(description="status", ordering="status")
    def status_badge(self, account: TelegramAccount) -> str:
        return format_html('<span class="badge" style="--badge: {}">{}</span>', STATUS_COLOURS.get(account.status),
                           account.get_status_display())  # fmt: skip

    def has_check_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.check_account")

    @admin.action(description="Check now", permissions=["check"])
    def check_now(self, request: HttpRequest, queryset) -> HttpResponse | None:
        """Workers check the selected accounts; their job's page shows the results as they come."""
        try:
            job = check_job_create(actor=request.user, accounts=list(queryset))
        except AuditUnavailableError as exc:
            messages.error(request, str(exc))
            return None
        return redirect("admin:accounts_telegramaccount_job", job.pk)

    def check_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One account's "Check now": waits a few seconds for its worker, else shows the job to follow."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        account = account_for_action(
            actor=request.user, account_id=pk, codename="check_account", action="account.check"
        )
        try:
            job = check_job_wait(check_job_create(actor=request.user, accounts=[account]))
        except AuditUnavailableError as exc:
            messages.error(request, str(exc))
            return redirect("admin:accounts_telegramaccount_change", account.pk)
        if not job.finished:
            return redirect("admin:accounts_telegramaccount_job", job.pk)
        [item] = job.results
        level = messages.ERROR if item["result"] in ("busy", "refused", "error") else messages.INFO
        messages.add_message(request, level, f"{account}: {item['result']}{', ' if item['reason'] else ''}"
                                             f"{item['reason']}")  # fmt: skip
        return redirect("admin:accounts_telegramaccount_change", account.pk)

    def get_urls(self):
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="accounts_telegramaccount_import"),
            path("export.csv", self.admin_site.admin_view(self.csv_view), name="accounts_telegramaccount_csv"),
            path(
                "saved-filters/",
                self.admin_site.admin_view(self.saved_filter_view),
                name="accounts_telegramaccount_saved_filter",
            ),
            path("jobs/<uuid:job_id>/", self.admin_site.admin_view(self.job_view), name="accounts_telegramaccount_job"),
            path("<int:pk>/check/", self.admin_site.admin_view(self.check_view), name="accounts_telegramaccount_check"),
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="accounts_telegramaccount_export",
            ),
        ]
        return own + self.login_urls() + self.standing_urls() + super().get_urls()

    def csv_view(self, request: HttpRequest) -> HttpResponse:
        """The list as it is filtered and searched on the page, as CSV (rows this user may see only)."""
        from accounts.account_csv import accounts_csv_response

        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = self.get_changelist_instance(request).get_queryset(request)
        return accounts_csv_response(rows, actor=request.user, filters=dict(request.GET.items()))

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("accounts.add_telegramaccount"):
            raise PermissionDenied
        form = ImportForm(user=request.user)
        if request.method == "POST":
            try:
                form = ImportForm(request.POST, request.FILES, user=request.user)
            except MultiPartParserError as exc:
                messages.error(request, f"Upload refused: {exc}")
            else:
                if form.is_valid():
                    files = [InputFile(f.name, f.read()) for f in form.cleaned_data["files"]]
                    try:
                        job = import_job_create(actor=request.user, files=files, team=form.cleaned_data["team"])
                    except (TeamChoiceError, PermissionDenied) as exc:
                        form.add_error("team", str(exc))
                    except VaultKeyError as exc:
                        messages.error(request, str(exc))
                    else:
                        return redirect("admin:accounts_telegramaccount_job", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import sessions",
            "form": form,
            "recent_jobs": Job.objects.filter(created_by=request.user, kind=JobKind.IMPORT)[:10],
        }
        return TemplateResponse(request, "admin/accounts/telegramaccount/import.html", context)

    def job_view(self, request: HttpRequest, job_id) -> HttpResponse:
        """An import's or a check's progress; the page polls ?format=json until the job is finished."""
        try:
            job = job_for(actor=request.user, job_id=job_id)
        except Job.DoesNotExist:
            raise Http404("no such job") from None
        if request.GET.get("format") == "json":
            return JsonResponse(job_progress(job))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import progress" if job.kind == JobKind.IMPORT else "Check progress",
            "job": job,
            "progress": job_progress(job),
        }
        return TemplateResponse(request, "admin/accounts/telegramaccount/job.html", context)

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = account_for_action(
            actor=request.user, account_id=pk, codename="export_session", action="session.export"
        )
        form = ExportForm(request.POST) if request.method == "POST" else ExportForm()
        if request.method == "POST" and form.is_valid():
            try:
                exported = session_export(
                    actor=request.user,
                    account=account,
                    export_format=form.cleaned_data["format"],
                    reason=form.cleaned_data["reason"],
                )
            except (VaultKeyError, AuditUnavailableError) as exc:
                messages.error(request, str(exc))
            else:
                return session_download(exported)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": account,
            "title": f"Export the session of {account}",
            "form": form,
            "change_url": reverse("admin:accounts_telegramaccount_change", args=[account.pk]),
        }
        return TemplateResponse(request, "admin/accounts/telegramaccount/export.html", context)

    def render_change_form(self, request: HttpRequest, context: dict, *args, **kwargs):
        obj = context.get("original")
        if obj is not None:
            context.update(account_page(request.user, obj))
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made here (shown once) and revoked here; never edited."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    fields = ["user", "name", "expires_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return ["user", "name", "expires_at"] if obj else []

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        """Tokens only for the people this user may manage: never a superuser's, unless one is a superuser."""
        if db_field.name == "user":
            users = restrict(get_user_model().objects.all(), request.user, "change")
            kwargs["queryset"] = users | get_user_model().objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if change:
            return
        days = None
        if obj.expires_at:
            days = max(1, (obj.expires_at - timezone.now()).days)
        row, token = token_create(actor=request.user, user=obj.user, name=obj.name, expires_days=days)
        obj.pk, obj.new_token = row.pk, token  # kept in memory for this response only

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue=None):
        """The token is shown on this page once, never put in a message (the messages cookie would carry it)."""
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "API token created",
                   "token_row": obj, "token": getattr(obj, "new_token", "")}  # fmt: skip
        response = TemplateResponse(request, "admin/accounts/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        for token in queryset:
            token_revoke(actor=request.user, token=token)
        messages.success(request, f"Revoked {queryset.count()} token(s).")
