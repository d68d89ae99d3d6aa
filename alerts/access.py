"""Who may see and act on alerts, silences, routes and the outbox: the rules `restrict` applies.

Alerts and silences follow the accounts a user may see: system alerts are for everyone with the alert
permission, account alerts only about visible accounts. Only those who see every account silence or route
fleet-wide; routes carry no team, so changing one is the admin role's permission alone.
"""

from __future__ import annotations

from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from accounts.models import TelegramAccount
from accounts.permissions import sees_all_accounts
from alerts.models import Alert
from project.access import access_rule, model_permission_rule


def _visible_account_keys(user):
    return TelegramAccount.objects.restrict(user, "view").annotate(key=Cast("pk", CharField())).values("key")


@access_rule("alerts.Alert")
def alerts_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    if action not in ("view", "acknowledge") or not user.has_perm(f"alerts.{action}_alert"):
        return queryset.none()
    if sees_all_accounts(user):
        return queryset
    return queryset.filter(~Q(kind__startswith="account.") | Q(key__in=_visible_account_keys(user)))


@access_rule("alerts.Silence")
def silences_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """Every silence for those who see every account; others the silences on their own accounts and the
    ones they made."""
    if not user.has_perm(f"alerts.{action}_silence"):
        return queryset.none()
    if sees_all_accounts(user):
        return queryset
    own_accounts = Q(kind_pattern__startswith="account.", key_pattern__in=_visible_account_keys(user))
    return queryset.filter(own_accounts | Q(created_by=user))


@access_rule("alerts.Notification")
def notifications_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """The outbox is read only, and only rows about alerts the user may see."""
    if action != "view" or not (user.is_superuser or user.has_perm("alerts.view_notification")):
        return queryset.none()
    return queryset.filter(alert__in=Alert.objects.restrict(user, "view"))


access_rule("alerts.Route")(model_permission_rule)
