"""Teams own accounts: whoever is in a team's group acts, as their role allows, on the accounts whose `team` it is
(`accounts.access.accounts_rule`); no per-account grant is written for a team."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import Team
from accounts.permissions import sees_all_accounts
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


class TeamChoiceError(ValueError):
    """The team asked for (or its absence) doesn't work for this user; the message says what to choose."""


# One answer for another team and for no team at all: a team-scoped user learns no team's name or id.
NOT_YOUR_TEAM = "you may only put accounts in your own teams"


def team_chosen(*, actor, team_id: int | None, action: str) -> Team | None:
    """The team a user named by id. For a team-scoped user an unknown team is refused exactly like
    another team's (audited, same message); only those who see every team are told it doesn't exist."""
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is not None:
        return team
    if sees_all_accounts(actor):
        raise TeamChoiceError("no such team")
    audit_denied(actor=actor, action=action, details={"team_id": team_id})
    raise PermissionDenied(NOT_YOUR_TEAM)


def teams_assignable_by(actor):
    """Teams this user may put accounts in: every team for those who see every account, else their own."""
    return Team.objects.restrict(actor, "assign")


def team_require_assignable(*, actor, team: Team | None, action: str, target=None) -> None:
    """May this user put accounts in this team (None: in no team)? A team-scoped user only in their own:
    an account anywhere else would vanish from their sight. Refusals are audited."""
    if sees_all_accounts(actor):
        return
    if team is None:
        reason = "only an admin may put accounts in no team"
    elif not teams_assignable_by(actor).filter(pk=team.pk).exists():
        reason = NOT_YOUR_TEAM
    else:
        return
    audit_denied(actor=actor, action=action, target=target, details={"team": team.name if team else ""})
    raise PermissionDenied(reason)


def team_for_import(*, actor, team: Team | None) -> Team | None:
    """The team imported accounts go to: the one asked for, or a team-scoped user's only team."""
    if team is None and not sees_all_accounts(actor):
        mine = list(teams_assignable_by(actor))
        if not mine:
            raise TeamChoiceError("you belong to no team, so these accounts would be hidden from you; "
                                  "ask an admin to add you to a team")  # fmt: skip
        if len(mine) > 1:
            raise TeamChoiceError(f"choose one of your teams: {', '.join(t.name for t in mine)}")
        team = mine[0]
    team_require_assignable(actor=actor, team=team, action="session.import")
    return team


def team_spambot_set(*, actor, team: Team, enabled: bool) -> bool:
    """Let the deep check ask @SpamBot about this team's accounts (it sends them a message): audited. Returns
    whether anything changed."""
    if not actor.has_perm("accounts.change_team"):
        audit_denied(actor=actor, action="team.spambot_checks", target=team)
        raise PermissionDenied("you may not change teams")
    with transaction.atomic():
        changed = Team.objects.filter(pk=team.pk).exclude(spambot_checks=enabled).update(spambot_checks=enabled)
        if changed:
            audit_record(actor=actor, action="team.spambot_checks", target=team, details={"enabled": enabled})
    team.spambot_checks = enabled
    return bool(changed)
