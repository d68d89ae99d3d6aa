"""The one answer to "may this user do X to this account?"; deny by default. The rule itself is
`accounts.access.accounts_rule`, applied through `restrict`; this asks it about one account."""

from __future__ import annotations

from accounts.models import TelegramAccount

# Permission codenames as services name them, and the access action each one is.
CODENAME_ACTIONS = {
    "view_telegramaccount": "view",
    "change_telegramaccount": "change",
    "delete_telegramaccount": "delete",
    "check_account": "check",
    "export_session": "export",
}


def sees_all_accounts(user) -> bool:
    """Superusers and the roles that may act on every account, whatever its team (admin)."""
    return bool(getattr(user, "is_superuser", False) or user.has_perm("accounts.access_all_accounts"))


def account_permitted(user, codename: str, account: TelegramAccount) -> bool:
    action = CODENAME_ACTIONS[codename]
    return TelegramAccount.objects.restrict(user, action).filter(pk=account.pk).exists()
