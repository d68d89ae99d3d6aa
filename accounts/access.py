"""Who may see and act on accounts, teams, tokens, imports, users and groups: the rules `restrict` applies.

A role (group with model permissions) says what kind of action a user may take; membership of an account's team
(or an object permission granted to the user alone, through guardian) says on which accounts. Both must agree,
unless the role may act on every account (admin).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import AccountUserObjectPermission, TelegramAccount
from accounts.permissions import has_single_grants, sees_all_accounts, team_ids_of
from project.access import access_rule, access_rule_models, superuser_only_rule

# What each action on an account needs: this model permission (and the account in one of the user's teams).
ACCOUNT_PERMS = {
    "view": "view_telegramaccount",
    "change": "change_telegramaccount",
    "delete": "delete_telegramaccount",
    "check": "check_account",
    "export": "export_session",
}


@access_rule("accounts.TelegramAccount")
def accounts_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    codename = ACCOUNT_PERMS.get(action)
    if codename is None:
        return queryset.none()
    if user.is_superuser:
        return queryset
    if not user.has_perm(f"accounts.{codename}"):
        return queryset.none()
    if user.has_perm("accounts.access_all_accounts"):
        return queryset
    # Which accounts: those of the user's teams (a plain `team_id IN (…)` the (team, label, id) index serves), and
    # any granted to this user alone. The list of teams is short; the per-user grants join only if there are any.
    scope = Q(team_id__in=team_ids_of(user))
    if has_single_grants(user, codename):
        by_user = AccountUserObjectPermission.objects.filter(user=user, permission__codename=codename)
        scope |= Q(pk__in=by_user.values("content_object_id"))
    return queryset.filter(scope)


@access_rule("accounts.Proxy")
def proxies_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """As accounts: the role says what, the team which proxies; admins every proxy."""
    if action not in ("view", "add", "change", "delete"):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if not user.has_perm(f"accounts.{action}_proxy"):
        return queryset.none()
    return queryset if sees_all_accounts(user) else queryset.filter(team__group__user=user)


@access_rule("accounts.Team")
def teams_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """Those who see every account see (and put accounts in) every team; others only the teams they are in.
    Creating, renaming, deleting a team or changing who is in it is for those who see every account."""
    if action in ("view", "assign"):
        if action == "view" and not user.has_perm("accounts.view_team"):
            return queryset.none()
        return queryset if sees_all_accounts(user) else queryset.filter(group__user=user)
    if sees_all_accounts(user) and user.has_perm(f"accounts.{action}_team"):
        return queryset
    return queryset.none()


@access_rule("accounts.ApiToken")
def tokens_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """Everyone their own; the admin role (token permission, every account) also everyone else's, never a
    superuser's. A team-scoped user given the permission still sees only their own: tokens reach every team."""
    if user.is_superuser:
        return queryset
    mine = Q(user=user)
    if sees_all_accounts(user) and user.has_perm(f"accounts.{action}_apitoken"):
        return queryset.filter(mine | Q(user__is_superuser=False))
    return queryset.filter(mine) if action in ("view", "change") else queryset.none()


@access_rule("accounts.Job")
def import_jobs_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """An import's progress and results belong to whoever started it (the files named are theirs)."""
    if action != "view":
        return queryset.none()
    return queryset if user.is_superuser else queryset.filter(created_by=user)


@access_rule("auth.User")
def users_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """A user sees themselves; the user permission shows the others. Only a superuser changes a superuser."""
    if user.is_superuser:
        return queryset
    if not user.has_perm(f"auth.{action}_user"):
        return queryset.filter(pk=user.pk) if action == "view" else queryset.none()
    return queryset if action == "view" else queryset.filter(is_superuser=False)


@access_rule("auth.Group")
def groups_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """Roles and teams are groups: who is in one and what it may do change only by a superuser (or the
    services that audit it); anyone with the group permission may look."""
    if action != "view":
        return superuser_only_rule(queryset, user, action)
    if user.is_superuser or user.has_perm("auth.view_group"):
        return queryset
    return queryset.filter(user=user)


@access_rule("accounts.Tag")
def tags_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """Tags are shared names (they say nothing about an account one cannot see): the role decides."""
    if action not in ("view", "add", "change", "delete"):
        return queryset.none()
    return queryset if user.is_superuser or user.has_perm(f"accounts.{action}_tag") else queryset.none()


@access_rule("accounts.SavedFilter")
def saved_filters_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """A saved filter is its owner's alone."""
    return queryset.filter(user=user) if action in ("view", "add", "change", "delete") else queryset.none()


@access_rule("accounts.Login")
def logins_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """A sign-in in progress belongs to whoever started it, and only while they may still sign accounts in:
    anyone else (a superuser too) gets 404, as if it weren't there."""
    if action not in ("view", "change") or not user.has_perm("accounts.login_account"):
        return queryset.none()
    return queryset.filter(created_by=user)


@access_rule("accounts.AccountStanding")
def standings_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """What Telegram holds against an account is seen by whoever sees the account; it is written by checks only."""
    if action != "view":
        return queryset.none()
    return queryset.filter(account__in=accounts_rule(TelegramAccount.objects.all(), user, "view"))


access_rule_models(["accounts.VaultBlob"], superuser_only_rule)  # sealed tokens: no one lists them, not even here
