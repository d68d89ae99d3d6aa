"""Signing in as a user who has two-factor sign-in, in tests: a real authenticator (a confirmed TOTP device
with its own secret) and the code it shows now, computed as any authenticator app computes it."""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from project.console.two_factor import two_factor_required


def authenticator_enrol(user) -> TOTPDevice:
    """A fresh confirmed authenticator for the user (any earlier one goes)."""
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)


def code_now(device: TOTPDevice, *, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


class TwoFactorClient(Client):
    """Django's test client whose force_login is a whole sign-in: password and, for a user who needs it,
    the second factor (as if they had entered their authenticator's code)."""

    def force_login(self, user, backend=None) -> None:
        super().force_login(user, backend)
        if two_factor_required(user) or TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or authenticator_enrol(user)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
