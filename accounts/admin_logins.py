"""The console's "Sign in an account" pages: the phone first, then one page that asks for whatever the sign-in
waits for (the code, the two-step password, or whether to replace an account's session)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.admin_forms import team_field_limit
from accounts.models import Login, LoginState, Proxy, Team
from accounts.services.logins import (
    LoginError,
    PhoneKnown,
    login_cancel,
    login_code,
    login_for,
    login_password,
    login_replace,
    login_resend,
    login_start,
)
from accounts.services.teams import TeamChoiceError
from accounts.vault.crypto import VaultKeyError
from audit.services import AuditUnavailableError

CODE_TYPES = {"app": "in the Telegram app on another device", "sms": "by SMS", "call": "by a phone call",
              "flash_call": "by a flash call", "missed_call": "as the last digits of a missed call",
              "fragment": "on Fragment", "email": "by email"}  # fmt: skip


class LoginStartForm(forms.Form):
    phone = forms.CharField(max_length=40, help_text="International form, e.g. +14155550123.")
    team = forms.ModelChoiceField(Team.objects.all(), required=False, help_text="The team that owns the account.")
    proxy = forms.ModelChoiceField(
        Proxy.objects.none(), required=False, help_text="The sign-in and every check after go through it."
    )
    replace = forms.BooleanField(required=False, label="Replace the session of the account with this number",
                                 help_text="Only if the number is already an account's.")  # fmt: skip

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        team_field_limit(self.fields["team"], user)
        self.fields["proxy"].queryset = Proxy.objects.restrict(user).filter(enabled=True)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=16, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


class PasswordForm(forms.Form):
    password = forms.CharField(max_length=256, strip=False, label="Two-step password",
                               widget=forms.PasswordInput(attrs={"autocomplete": "off"}))  # fmt: skip


STEPS = {"code": login_code, "password": login_password, "resend": login_resend, "cancel": login_cancel,
         "replace": login_replace}  # fmt: skip


class AccountLoginPages:
    """Mixed into the account admin: URLs and views of the sign-in pages."""

    def login_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("login/", view(self.login_start_view), name="accounts_telegramaccount_login"),
            path("login/<uuid:login_id>/", view(self.login_step_view), name="accounts_telegramaccount_login_step"),
        ]

    def login_start_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("accounts.login_account"):
            raise PermissionDenied
        form = LoginStartForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                login = login_start(actor=request.user, phone=data["phone"], team=data["team"], proxy=data["proxy"],
                                    replace=data["replace"])  # fmt: skip
            except PhoneKnown as exc:
                form.add_error("phone", str(exc))
            except (LoginError, TeamChoiceError) as exc:
                form.add_error("team" if isinstance(exc, TeamChoiceError) else "phone", str(exc))
            except (VaultKeyError, AuditUnavailableError) as exc:
                messages.error(request, str(exc))
            else:
                return redirect("admin:accounts_telegramaccount_login_step", login.pk)
        return self._login_page(request, "Sign in an account", {"form": form})

    def login_step_view(self, request: HttpRequest, login_id) -> HttpResponse:
        try:
            login = login_for(actor=request.user, login_id=login_id)
        except Login.DoesNotExist:
            raise Http404("no such sign-in") from None
        code_form, password_form = CodeForm(), PasswordForm()
        if request.method == "POST":
            step = request.POST.get("step", "")
            form = {"code": CodeForm, "password": PasswordForm}.get(step)
            bound = form(request.POST) if form else None
            if step not in STEPS:
                messages.error(request, "Unknown step.")
            elif bound is not None and not bound.is_valid():
                code_form, password_form = (bound, password_form) if step == "code" else (code_form, bound)
            else:
                try:
                    login = STEPS[step](actor=request.user, login_id=login.pk, **(bound.cleaned_data if bound else {}))
                except (LoginError, VaultKeyError, AuditUnavailableError) as exc:
                    messages.error(request, str(exc))
                    login = login_for(actor=request.user, login_id=login.pk)
                else:
                    if login.state == LoginState.DONE and login.account_id:
                        messages.success(request, f"Signed in: account {login.account} is in the vault.")
                        return redirect("admin:accounts_telegramaccount_change", login.account_id)
                    return redirect("admin:accounts_telegramaccount_login_step", login.pk)
        context = {"login": login, "code_form": code_form, "password_form": password_form,
                   "code_sent_how": CODE_TYPES.get(login.code_type, login.code_type),
                   "next_how": CODE_TYPES.get(login.next_type, login.next_type),
                   "start_url": reverse("admin:accounts_telegramaccount_login")}  # fmt: skip
        return self._login_page(request, f"Sign in {login.phone_masked}", context)

    def _login_page(self, request: HttpRequest, title: str, context: dict) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context}
        return TemplateResponse(request, "admin/accounts/telegramaccount/login.html", context)
