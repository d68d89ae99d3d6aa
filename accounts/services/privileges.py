"""A person's privileges (superuser, staff, roles, teams, direct permissions) change only here, audited.

Only a superuser changes them: an admin-role user manages people's details, never what they may do, so nobody
grants a role above their own. Team membership seen from the team's side goes through `team_members_set`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.services import audit_denied, audit_record

FLAGS = ("is_superuser", "is_staff")


def user_privileges_set(
    *,
    actor,
    user,
    is_superuser: bool | None = None,
    is_staff: bool | None = None,
    groups: Iterable[Group] | None = None,
    user_permissions: Iterable[Permission] | None = None,
) -> dict:
    """Set what is given (None leaves it as it is); returns the changes recorded as `permission.change`."""
    asked = {"is_superuser": is_superuser, "is_staff": is_staff, "groups": groups, "user_permissions": user_permissions}
    asked = {name: value for name, value in asked.items() if value is not None}
    if not getattr(actor, "is_superuser", False):
        audit_denied(actor=actor, action="permission.change", target=user, details={"asked": sorted(asked)})
        raise PermissionDenied("only a superuser may change roles, teams, permissions or superuser status")
    changes: dict = {}
    with transaction.atomic():
        for flag in FLAGS:
            if flag in asked and bool(asked[flag]) != getattr(user, flag):
                changes[flag] = {"from": getattr(user, flag), "to": bool(asked[flag])}
                setattr(user, flag, bool(asked[flag]))
        if any(flag in changes for flag in FLAGS):
            user.save(update_fields=[flag for flag in FLAGS if flag in changes])
        if "groups" in asked:
            changes.update(_m2m_set(user.groups, list(asked["groups"]), "groups", str))
        if "user_permissions" in asked:
            perm_name = lambda p: f"{p.content_type.app_label}.{p.codename}"  # noqa: E731
            changes.update(_m2m_set(user.user_permissions, list(asked["user_permissions"]), "user_permissions",
                                    perm_name))  # fmt: skip
        if changes:
            audit_record(actor=actor, action="permission.change", target=user, details=changes)
    return changes


def _m2m_set(related, wanted: list, name: str, label) -> dict:
    before = {label(o): o for o in related.all()}
    after = {label(o): o for o in wanted}
    if before.keys() == after.keys():
        return {}
    related.set(wanted)
    return {name: {"added": sorted(after.keys() - before.keys()), "removed": sorted(before.keys() - after.keys())}}
