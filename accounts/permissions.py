"""The one answer to "may this user do X to this account?"; deny by default."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from accounts.models import TelegramAccount


def account_permitted(user: AbstractBaseUser | AnonymousUser, codename: str, account: TelegramAccount) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    perm = f"accounts.{codename}"
    return user.has_perm(perm) or user.has_perm(perm, account)
