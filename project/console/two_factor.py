"""Two-factor sign-in for the console (django-otp): a TOTP authenticator plus one-time recovery codes.

Required for superusers and the admin role (they can export every session), optional for anyone else;
once a user has an authenticator, their console session is verified with a code after the password.
Until it is, the gate below lets that session reach only the one two-factor page it must pass and logout,
and the API answers it 401 (Bearer tokens are their own credential: a script that sends one has no
session). Every enrolment, verification, refusal, recovery-code use and reset is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_denied, audit_record

RECOVERY_CODES = 10


def two_factor_required(user) -> bool:
    return bool(user.is_superuser or user.groups.filter(name="admin").exists())


def two_factor_pending(request: HttpRequest) -> str | None:
    """None when this session may go on; else the page it must visit first (verify, or set up)."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    if user_has_device(user, confirmed=True):
        return "two-factor-verify"
    return "two-factor-setup" if two_factor_required(user) else None


class TwoFactorGateMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Whatever else the request carries (a Bearer header too): a session that signed in with a password only
        # reaches the one page it must pass. Scripts with a token carry no session, so this never meets them.
        page = two_factor_pending(request)
        if page is None or self._open(request, page):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "Two-factor verification is required: finish signing in to the console "
                                           "(or use a Bearer token)."}, status=401)  # fmt: skip
        target = reverse(f"admin:{page}")
        return redirect(f"{target}?next={request.get_full_path()}")

    @staticmethod
    def _open(request: HttpRequest, page: str) -> bool:
        """Only the one page this session must pass (never setup while an authenticator awaits its code: that
        would let a password alone enrol a new one), logout, and static files."""
        if request.path.startswith(settings.STATIC_URL):
            return True
        return request.path in (reverse(f"admin:{page}"), reverse("admin:logout"))


def next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("admin:index")


def authenticator_pending(user) -> TOTPDevice:
    """The user's unconfirmed authenticator, made now if there is none (a new secret each enrolment)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def authenticator_confirm(request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """The first code proves the app holds the secret: the device counts from now on, this session is verified,
    and fresh recovery codes come back (shown once). None if the code is wrong."""
    if not device.verify_token(code):
        audit_denied(actor=request.user, action="auth.two_factor.enroll", target=request.user,
                     details={"reason": "wrong code"})  # fmt: skip
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_renew(request.user)
        audit_record(actor=request.user, action="auth.two_factor.enroll", target=request.user)
    otp_login(request, device)
    return codes


def recovery_codes_renew(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def code_verify(request: HttpRequest, code: str) -> bool:
    """An authenticator code or an unused recovery code (used up by this); audited either way."""
    device = match_token(request.user, code.strip().replace(" ", ""))
    if device is None:
        audit_denied(actor=request.user, action="auth.two_factor.verify", target=request.user,
                     details={"reason": "wrong or used code"})  # fmt: skip
        return False
    recovery = isinstance(device, StaticDevice)
    details = {"method": "recovery code" if recovery else "authenticator"}
    if recovery:
        details["recovery_codes_left"] = device.token_set.count()
    with transaction.atomic():
        audit_record(actor=request.user, action="auth.two_factor.verify", target=request.user, details=details)
    otp_login(request, device)
    return True


def two_factor_remove(*, actor, user) -> None:
    """Take a user's authenticator and recovery codes away: themselves (when it is optional for them) or a
    superuser for anyone who lost their phone. They enrol again at their next sign-in if it is required."""
    own = actor.pk == user.pk
    if not (actor.is_superuser or (own and not two_factor_required(user))):
        audit_denied(actor=actor, action="auth.two_factor.remove", target=user,
                     details={"reason": "required for this user" if own else "superusers only"})  # fmt: skip
        raise PermissionError("two-factor sign-in is required for this user" if own else "only a superuser may")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record(actor=actor, action="auth.two_factor.remove", target=user)
