"""Account transitions from the checks become alerts (and their recoveries, resolutions)."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import account_statuses_changed
from alerts.models import Alert, AlertState, Severity
from alerts.services import alert_raise, alert_resolve

RAISING = {"unauthorized": Severity.CRITICAL, "banned": Severity.CRITICAL, "offline": Severity.WARNING}
QUIET = {"uncertain", "flood_wait"}  # before anyone is told, or waiting by Telegram's own word
KINDS = [f"account.{status}" for status in RAISING]


@receiver(account_statuses_changed, dispatch_uid="alerts-account-statuses")
def account_alerts(sender, changes, **kwargs) -> None:
    """A batch's transitions: one query finds the account alerts still open among them, and only those are
    resolved (a fleet of accounts going ok costs one query, not three transactions each); then raise."""
    stale: dict[str, set[str]] = {}  # account key -> alert kinds this transition ends
    for account, _old, new, _reason in changes:
        if new in RAISING:
            stale[str(account.pk)] = {f"account.{other}" for other in RAISING.keys() - {new}}
        elif new not in QUIET:
            stale[str(account.pk)] = set(KINDS)
    if stale:
        still_open = (Alert.objects.filter(kind__in=KINDS, key__in=list(stale)).exclude(state=AlertState.RESOLVED)
                      .values_list("kind", "key"))  # fmt: skip
        for kind, key in still_open:
            if kind in stale[key]:
                alert_resolve(kind=kind, key=key)
    for account, _old, new, reason in changes:
        if new in RAISING:
            details = {"label": account.label, "team": account.team.name if account.team_id else "",
                       "reason": reason}  # fmt: skip
            alert_raise(kind=f"account.{new}", severity=RAISING[new], key=str(account.pk),
                        summary=f"{account.label}: {reason}", details=details)  # fmt: skip
