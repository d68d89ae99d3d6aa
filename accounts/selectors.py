"""Reads of accounts, always given the user: the one way anything lists accounts."""

from __future__ import annotations

from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.models import TelegramAccount


def accounts_visible_to(user) -> QuerySet[TelegramAccount]:
    if not user.is_authenticated or not user.is_active:
        return TelegramAccount.objects.none()
    if user.is_superuser or user.has_perm("accounts.view_telegramaccount"):
        return TelegramAccount.objects.all()
    return get_objects_for_user(user, "accounts.view_telegramaccount", klass=TelegramAccount, accept_global_perms=False)
