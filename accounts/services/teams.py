"""Teams own accounts: their group gets object permissions on each of the team's accounts."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import AccountGroupObjectPermission, Team, TelegramAccount
from accounts.roles import ACCOUNT_ACTIONS
from audit.services import audit_denied, audit_record


def team_create(*, actor, name: str) -> Team:
    if not actor.has_perm("accounts.add_team"):
        audit_denied(actor=actor, action="team.create", target_text=name)
        raise PermissionDenied("you may not create teams")
    with transaction.atomic():
        group = Group.objects.create(name=f"team:{name}")
        team = Team.objects.create(name=name, group=group)
        audit_record(actor=actor, action="team.create", target=team)
    return team


def team_members_set(*, actor, team: Team, users: Iterable) -> None:
    users = list(users)
    if not actor.has_perm("accounts.change_team"):
        audit_denied(actor=actor, action="permission.change", target=team)
        raise PermissionDenied("you may not change team membership")
    with transaction.atomic():
        before = set(team.group.user_set.values_list("username", flat=True))
        team.group.user_set.set(users)
        after = {u.get_username() for u in users}
        audit_record(
            actor=actor, action="permission.change", target=team,
            details={"added": sorted(after - before), "removed": sorted(before - after)},
        )  # fmt: skip


def account_grants_for_team(accounts: list[TelegramAccount], team: Team | None) -> None:
    """Replace the team grants on these accounts (call inside the caller's transaction)."""
    AccountGroupObjectPermission.objects.filter(content_object__in=accounts, group__team__isnull=False).delete()
    if team is None:
        return
    perms = list(Permission.objects.filter(content_type__app_label="accounts", codename__in=ACCOUNT_ACTIONS))
    AccountGroupObjectPermission.objects.bulk_create(
        [
            AccountGroupObjectPermission(group=team.group, permission=p, content_object=a)
            for a in accounts
            for p in perms
        ]
    )


class TeamChoiceError(ValueError):
    """The team asked for (or its absence) doesn't work for this user; the message says what to choose."""


def _sees_all(actor) -> bool:
    return actor.is_superuser or actor.has_perm("accounts.access_all_accounts")


def teams_assignable_by(actor):
    """Teams this user may put accounts in: every team for those who see every account, else their own."""
    if _sees_all(actor):
        return Team.objects.all()
    return Team.objects.filter(group__user=actor)


def team_for_accounts(*, actor, team: Team | None, action: str, target=None) -> Team | None:
    """The team new or moved accounts go to. A team-scoped user may only use their own teams (an account
    outside them would vanish from their sight); with one team and none asked for, that team."""
    if _sees_all(actor):
        return team
    mine = list(teams_assignable_by(actor))
    if team is None:
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise TeamChoiceError("you belong to no team, so these accounts would be hidden from you; "
                                  "ask an admin to add you to a team")  # fmt: skip
        raise TeamChoiceError(f"choose one of your teams: {', '.join(t.name for t in mine)}")
    if team not in mine:
        audit_denied(actor=actor, action=action, target=target, details={"team": team.name})
        raise PermissionDenied(f"you may only put accounts in your own teams, not in {team.name}")
    return team
