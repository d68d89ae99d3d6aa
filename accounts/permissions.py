"""The one answer to "may this user do X to this account?"; deny by default.

A role (group with model permissions) says what kind of action a user may take;
a team (object permissions on its accounts) says on which accounts. Both must agree,
unless the role may act on every account (admin).
"""

from __future__ import annotations

from accounts.models import TelegramAccount


def sees_all_accounts(user) -> bool:
    """Superusers and the roles that may act on every account, whatever its team (admin)."""
    return bool(getattr(user, "is_superuser", False) or user.has_perm("accounts.access_all_accounts"))


def account_permitted(user, codename: str, account: TelegramAccount) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    perm = f"accounts.{codename}"
    if not user.has_perm(perm):
        return False
    if user.has_perm("accounts.access_all_accounts"):
        return True
    return user.has_perm(perm, account)
