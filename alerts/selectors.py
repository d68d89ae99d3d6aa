from __future__ import annotations

from django.db.models import Avg, CharField, Count, F, Q, QuerySet
from django.db.models.functions import Cast

from alerts.models import Alert, Delivery, Notification, Route


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
