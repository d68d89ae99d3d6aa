from __future__ import annotations

from django.db.models import Avg, Count, F, Q, QuerySet

from alerts.models import Delivery, Notification, Route


def routes_with_stats() -> QuerySet[Route]:
    latency = Avg(F("notifications__sent_at") - F("notifications__created_at"),
                  filter=Q(notifications__state=Delivery.SENT))  # fmt: skip
    pending = Count("notifications", filter=Q(notifications__state=Delivery.PENDING))
    return Route.objects.annotate(delivery_latency=latency, pending=pending)


def delivery_totals() -> dict[str, int]:
    counts = dict(Notification.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in Delivery.values}
