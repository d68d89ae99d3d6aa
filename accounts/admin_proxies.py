"""Proxies in the console: added by URL or link (the secret is sealed at once and never shown again), edited,
and given to accounts one by one, in bulk to one proxy, or spread over a team's proxies within capacity."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.models import Proxy, Team
from accounts.services.proxies import proxies_spread, proxy_assign, proxy_create, proxy_delete, proxy_update
from accounts.services.teams import teams_assignable_by
from accounts.telegram.proxy_url import ProxyUrlError, proxy_url_parse
from project.access import restrict


class ProxyForm(forms.ModelForm):
    url = forms.CharField(
        label="URL or link", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="socks5://user:pass@host:port, http://host:port, mtproxy://SECRET@host:port or a tg://proxy link. "
        "On a change, leave empty to keep the current one.",
    )  # fmt: skip

    class Meta:
        model = Proxy
        fields = ["label", "url", "team", "enabled", "capacity"]

    def clean_url(self):
        text = self.cleaned_data.get("url", "")
        if not text:
            if self.instance.pk is None:
                raise forms.ValidationError("a new proxy needs its URL or link")
            return None
        try:
            return proxy_url_parse(text)
        except ProxyUrlError as exc:
            raise forms.ValidationError(f"not a usable proxy: {exc}") from None


@admin.register(Proxy)
class ProxyAdmin(admin.ModelAdmin):
    form = ProxyForm
    list_display = ["__str__", "kind", "host", "port", "team", "enabled", "status", "carried", "capacity",
                    "latency_ms", "last_checked_at"]  # fmt: skip
    list_filter = ["kind", "status", "enabled", "team"]
    search_fields = ["label", "host"]
    readonly_fields = ["kind", "host", "port", "username", "has_secret", "status", "last_error", "last_checked_at",
                       "latency_ms", "account_list"]  # fmt: skip

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("team").annotate(carried=Count("accounts"))

    @admin.display(description="accounts", ordering="carried")
    def carried(self, proxy: Proxy) -> int:
        return proxy.carried

    @admin.display(description="accounts through it")
    def account_list(self, proxy: Proxy) -> str:
        accounts = proxy.accounts.order_by("label")[:200]
        if not accounts:
            return "none"
        rows = ((reverse("admin:accounts_telegramaccount_change", args=[a.pk]), a.label, a.get_status_display())
                for a in accounts)  # fmt: skip
        return format_html("<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> ({})</li>', rows))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = teams_assignable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Proxy, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            made = proxy_create(actor=request.user, spec=data["url"], label=data["label"], team=data["team"],
                                capacity=data["capacity"])  # fmt: skip
            if not data["enabled"]:
                proxy_update(actor=request.user, proxy=made, enabled=False)
            obj.pk = made.pk
            return
        changes = {name: data[name] for name in form.changed_data if name in ("label", "team", "enabled", "capacity")}
        saved = Proxy.objects.get(pk=obj.pk)
        proxy_update(actor=request.user, proxy=saved, spec=data.get("url"), **changes)

    def delete_model(self, request: HttpRequest, obj: Proxy) -> None:
        proxy_delete(actor=request.user, proxy=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for proxy in queryset:
            proxy_delete(actor=request.user, proxy=proxy)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValueError as exc:  # it still carries accounts
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_proxy_change", args=[object_id]))


class ProxyChoiceForm(forms.Form):
    proxy = forms.ModelChoiceField(Proxy.objects.none(), required=False, empty_label="(none: direct)")


class AccountProxyActions:
    """Bulk actions on the account list: one chosen proxy for all, or spread over each team's own proxies."""

    @admin.action(description="Give the selected accounts one proxy…", permissions=["change"])
    def proxy_assign_one(self, request: HttpRequest, queryset):
        choices = restrict(Proxy.objects.filter(enabled=True), request.user, "view")
        form = ProxyChoiceForm(request.POST if "apply" in request.POST else None)
        form.fields["proxy"].queryset = choices
        if "apply" in request.POST and form.is_valid():
            try:
                count = proxy_assign(actor=request.user, accounts=list(queryset), proxy=form.cleaned_data["proxy"])
            except (PermissionDenied, ValueError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                target = form.cleaned_data["proxy"] or "no proxy (direct)"
                self.message_user(request, f"{count} account(s) now go through {target}")
            return None
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "accounts": queryset, "title": "Give the selected accounts one proxy",
                   "action": "proxy_assign_one"}  # fmt: skip
        return TemplateResponse(request, "admin/accounts/telegramaccount/proxy_assign.html", context)

    @admin.action(description="Spread the selected accounts over their team's proxies", permissions=["change"])
    def proxy_spread(self, request: HttpRequest, queryset) -> None:
        by_team: dict[int | None, list] = {}
        for account in queryset.select_related("team"):
            by_team.setdefault(account.team_id, []).append(account)
        for team_id, accounts in by_team.items():
            if team_id is None:
                self.message_user(request, f"{len(accounts)} account(s) in no team: choose their proxy yourself",
                                  messages.WARNING)  # fmt: skip
                continue
            team = Team.objects.get(pk=team_id)
            try:
                given = proxies_spread(actor=request.user, accounts=accounts, team=team)
            except (PermissionDenied, ValueError) as exc:
                self.message_user(request, f"{team}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{team}: {sum(given.values())} account(s) spread over {len(given)} proxies "
                                       "(accounts that had a proxy keep it)")  # fmt: skip
