"""Account transitions from the checks become alerts (and their recoveries, resolutions)."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import account_status_changed
from alerts.models import Severity
from alerts.services import alert_raise, alert_resolve

RAISING = {"unauthorized": Severity.CRITICAL, "banned": Severity.CRITICAL, "offline": Severity.WARNING}
QUIET = {"uncertain", "flood_wait"}  # before anyone is told, or waiting by Telegram's own word


@receiver(account_status_changed, dispatch_uid="alerts-account-status")
def account_alerts(sender, account, old_status: str, new_status: str, reason: str, **kwargs) -> None:
    key = str(account.pk)
    details = {"label": account.label, "team": account.team.name if account.team_id else "", "reason": reason}
    if new_status in RAISING:
        for other in RAISING.keys() - {new_status}:
            alert_resolve(kind=f"account.{other}", key=key)
        alert_raise(
            kind=f"account.{new_status}", severity=RAISING[new_status], key=key,
            summary=f"{account.label}: {reason}", details=details,
        )  # fmt: skip
    elif new_status not in QUIET:
        for kind in RAISING:
            alert_resolve(kind=f"account.{kind}", key=key)
