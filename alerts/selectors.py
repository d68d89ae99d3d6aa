from __future__ import annotations

from django.db.models import Avg, CharField, Count, F, Q, QuerySet
from django.db.models.functions import Cast

from alerts.models import Alert, Delivery, Notification, Route, Silence


def routes_with_stats() -> QuerySet[Route]:
    latency = Avg(F("notifications__sent_at") - F("notifications__created_at"),
                  filter=Q(notifications__state=Delivery.SENT))  # fmt: skip
    pending = Count("notifications", filter=Q(notifications__state=Delivery.PENDING))
    return Route.objects.annotate(delivery_latency=latency, pending=pending)


def delivery_totals() -> dict[str, int]:
    counts = dict(Notification.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in Delivery.values}


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts a user may read: system alerts, and account alerts only about accounts they can see."""
    from accounts.permissions import sees_all_accounts
    from accounts.selectors import accounts_visible_to

    if not getattr(user, "is_authenticated", False) or not user.has_perm("alerts.view_alert"):
        return Alert.objects.none()
    if sees_all_accounts(user):
        return Alert.objects.all()
    keys = accounts_visible_to(user).annotate(key=Cast("pk", CharField())).values("key")
    return Alert.objects.filter(~Q(kind__startswith="account.") | Q(key__in=keys))


def silences_visible_to(user) -> QuerySet[Silence]:
    """Fleet-wide silences for those who see every account; a team-scoped user sees the silences on their own
    accounts (and the ones they made)."""
    from accounts.permissions import sees_all_accounts
    from accounts.selectors import accounts_visible_to

    if not getattr(user, "is_authenticated", False) or not user.has_perm("alerts.view_silence"):
        return Silence.objects.none()
    if sees_all_accounts(user):
        return Silence.objects.all()
    keys = accounts_visible_to(user).annotate(key=Cast("pk", CharField())).values("key")
    return Silence.objects.filter(Q(kind_pattern__startswith="account.", key_pattern__in=keys) | Q(created_by=user))


def silence_scope_error(user, *, kind_pattern: str, key_pattern: str) -> str | None:
    """Why this user may not make this silence, or None. Only those who see every account silence fleet-wide:
    a team-scoped user silences account alerts of one of their own accounts, named by its id."""
    from accounts.permissions import sees_all_accounts
    from accounts.selectors import accounts_visible_to

    if sees_all_accounts(user):
        return None
    if not kind_pattern.startswith("account.") or not key_pattern.isascii() or not key_pattern.isdigit():
        return "you may silence only account alerts of your own accounts: kind account.…, key an account id"
    if not accounts_visible_to(user).filter(pk=int(key_pattern)).exists():
        return "you may silence only account alerts of your own accounts: kind account.…, key an account id"
    return None
