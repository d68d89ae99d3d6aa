"""The hooks other apps connect to when accounts' statuses change (the alerts app listens here)."""

from django.dispatch import Signal

# Sent after the transition is committed, with: account, old_status, new_status, reason.
account_status_changed = Signal()
# Sent once per batch after its transitions are committed, with: changes, a list of
# (account, old_status, new_status, reason): a listener that writes can do it for the whole batch at once.
account_statuses_changed = Signal()
