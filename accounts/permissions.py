"""The one answer to "may this user do X to this account?"; deny by default. The rule itself is
`accounts.access.accounts_rule`, applied through `restrict`; this asks it about one account."""

from __future__ import annotations

from accounts.models import AccountUserObjectPermission, Team, TelegramAccount

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


def team_ids_of(user) -> list[int]:
    """The teams a user is in (their groups'): what scopes a team-scoped user's accounts and charts."""
    return list(Team.objects.filter(group__user=user).values_list("pk", flat=True))


def has_single_grants(user, codename: str | None = None) -> bool:
    """Has this user any account granted to them alone (guardian object permission), for this action or any?"""
    grants = AccountUserObjectPermission.objects.filter(user=user)
    return (grants.filter(permission__codename=codename) if codename else grants).exists()


def account_permitted(user, codename: str, account: TelegramAccount) -> bool:
    action = CODENAME_ACTIONS[codename]
    return TelegramAccount.objects.restrict(user, action).filter(pk=account.pk).exists()
