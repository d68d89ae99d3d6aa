from __future__ import annotations

from django.db.models import Avg, Count, F, Max, Q, QuerySet

from alerts.models import Delivery, Notification, Route


def routes_with_stats(user) -> QuerySet[Route]:
    """The routes this user may see, each with its delivery counted from its notification rows."""
    latency = Avg(F("notifications__sent_at") - F("notifications__created_at"),
                  filter=Q(notifications__state=Delivery.SENT))  # fmt: skip

    def counted(*states: str) -> Count:
        return Count("notifications", filter=Q(notifications__state__in=states))

    return Route.objects.restrict(user).annotate(
        delivery_latency=latency,
        sent=counted(Delivery.SENT),
        failed=counted(Delivery.FAILED, Delivery.UNCONFIRMED),
        suppressed=counted(Delivery.SUPPRESSED),
        silenced=counted(Delivery.SILENCED),
        pending=counted(Delivery.PENDING, Delivery.CLAIMED, Delivery.IN_FLIGHT),
        last_success_at=Max("notifications__sent_at", filter=Q(notifications__state=Delivery.SENT)),
    )


def delivery_totals() -> dict[str, int]:
    counts = dict(Notification.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in Delivery.values}


def silence_scope_error(user, *, kind_pattern: str, key_pattern: str) -> str | None:
    """Why this user may not make this silence, or None. Only those who see every account silence fleet-wide:
    a team-scoped user silences account alerts of one of their own accounts, named by its id."""
    from accounts.models import TelegramAccount
    from accounts.permissions import sees_all_accounts

    if sees_all_accounts(user):
        return None
    if not kind_pattern.startswith("account.") or not key_pattern.isascii() or not key_pattern.isdigit():
        return "you may silence only account alerts of your own accounts: kind account.…, key an account id"
    if not TelegramAccount.objects.restrict(user, "view").filter(pk=int(key_pattern)).exists():
        return "you may silence only account alerts of your own accounts: kind account.…, key an account id"
    return None
