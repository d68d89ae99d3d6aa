"""The console's two-factor pages: status, set up (QR code, first code, recovery codes once), verify."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticToken

from project.console.two_factor import (
    authenticator_confirm,
    authenticator_pending,
    code_verify,
    next_url,
    recovery_codes_renew,
    two_factor_remove,
    two_factor_required,
)  # fmt: skip


def _page(site, request: HttpRequest, template: str, title: str, **context) -> TemplateResponse:
    return TemplateResponse(request, f"admin/console/{template}", {**site.each_context(request), "title": title,
                                                                   "next": next_url(request), **context})  # fmt: skip


def two_factor_status(site, request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST" and request.POST.get("action") == "recovery":
        if not user.is_verified():
            return redirect("admin:two-factor-verify")
        codes = recovery_codes_renew(user)
        from audit.services import audit_record

        audit_record(actor=user, action="auth.two_factor.recovery_codes", target=user)
        return _page(site, request, "two_factor_codes.html", "Recovery codes", codes=codes)
    if request.method == "POST" and request.POST.get("action") == "remove":
        try:
            two_factor_remove(actor=user, user=user)
        except PermissionError as exc:
            messages.error(request, f"Two-factor sign-in stays on: {exc}.")
        else:
            messages.success(request, "Two-factor sign-in is off for your account.")
        return redirect("admin:two-factor")
    left = StaticToken.objects.filter(device__user=user).count()
    return _page(site, request, "two_factor.html", "Two-factor sign-in", enabled=user_has_device(user),
                 required=two_factor_required(user), recovery_left=left)  # fmt: skip


def two_factor_setup(site, request: HttpRequest) -> HttpResponse:
    if user_has_device(request.user, confirmed=True) and not request.user.is_verified():
        return redirect("admin:two-factor-verify")  # a new authenticator only after the current one's code
    device = authenticator_pending(request.user)
    error = None
    if request.method == "POST":
        codes = authenticator_confirm(request, device, request.POST.get("code", "").strip())
        if codes is not None:
            return _page(site, request, "two_factor_codes.html", "Recovery codes", codes=codes)
        error = "That code is not the one your app shows now. Check the phone's clock and try the next one."
    # The secret goes to this page only (never a log or a message); the QR code is drawn here, as SVG.
    qr = mark_safe(segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#1b1f23"))  # noqa: S308
    secret = _base32(device.bin_key)
    return _page(site, request, "two_factor_setup.html", "Set up two-factor sign-in", qr=qr, secret=secret,
                 error=error, required=two_factor_required(request.user))  # fmt: skip


def two_factor_verify(site, request: HttpRequest) -> HttpResponse:
    if request.user.is_verified():
        return redirect(next_url(request))
    error = None
    if request.method == "POST":
        if code_verify(request, request.POST.get("code", "")):
            return redirect(next_url(request))
        error = "That code did not work (a recovery code works once). Too many tries slow the next ones down."
    return _page(site, request, "two_factor_verify.html", "Two-factor sign-in", error=error)


def _base32(key: bytes) -> str:
    import base64

    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
