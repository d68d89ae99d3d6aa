"""The account page's "Terminate other sessions" (auth.resetAuthorizations), behind a confirmation."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import AccountStanding
from accounts.services import account_for_action
from accounts.services.deep_checks import DeepCheckBusyError, other_sessions_terminate
from accounts.vault.crypto import VaultKeyError
from audit.services import AuditUnavailableError


class ResetForm(forms.Form):
    confirm = forms.BooleanField(label="Sign every other device out of this account (ours stays signed in).")


class AccountStandingPages:
    def standing_urls(self) -> list:
        view = self.admin_site.admin_view
        return [path("<int:pk>/sessions-reset/", view(self.sessions_reset_view),
                     name="accounts_telegramaccount_sessions_reset")]  # fmt: skip

    def sessions_reset_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        account = account_for_action(actor=request.user, account_id=pk, codename="change_telegramaccount",
                                     action="account.sessions_reset")  # fmt: skip
        form = ResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                error = other_sessions_terminate(actor=request.user, account=account)
            except (DeepCheckBusyError, VaultKeyError, AuditUnavailableError) as exc:
                messages.error(request, str(exc))
            else:
                if error:
                    messages.error(request, f"Telegram refused: {error}")
                else:
                    messages.success(request, f"Every other session of {account} was terminated.")
                return redirect("admin:accounts_telegramaccount_change", account.pk)
        standing = AccountStanding.objects.filter(account=account).first()
        others = [a for a in (standing.authorizations if standing else []) if not a.get("current")]
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": account,
                   "title": f"Terminate the other sessions of {account}", "form": form, "others": others,
                   "change_url": reverse("admin:accounts_telegramaccount_change", args=[account.pk])}  # fmt: skip
        return TemplateResponse(request, "admin/accounts/telegramaccount/sessions_reset.html", context)
