"""The hook other apps connect to: an account's status changed (the alerts issue listens here)."""

from django.dispatch import Signal

# Sent after the transition is committed, with: account, old_status, new_status, reason.
account_status_changed = Signal()
