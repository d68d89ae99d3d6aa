"""Reads of accounts, always given the user: the one way anything lists accounts."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import AccountGroupObjectPermission, AccountUserObjectPermission, TelegramAccount


def accounts_visible_to(user) -> QuerySet[TelegramAccount]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return TelegramAccount.objects.none()
    if user.is_superuser:
        return TelegramAccount.objects.all()
    if not user.has_perm("accounts.view_telegramaccount"):
        return TelegramAccount.objects.none()
    if user.has_perm("accounts.access_all_accounts"):
        return TelegramAccount.objects.all()
    view = {"content_object": OuterRef("pk"), "permission__codename": "view_telegramaccount"}
    by_group = AccountGroupObjectPermission.objects.filter(group__user=user, **view)
    by_user = AccountUserObjectPermission.objects.filter(user=user, **view)
    return TelegramAccount.objects.filter(Exists(by_group) | Exists(by_user))
