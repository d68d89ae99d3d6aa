"""Everything that writes accounts or touches the vault; each sensitive action is audited."""

from accounts.services.accounts import account_delete, account_update
from accounts.services.checks import CheckBusyError, ChecksRequested, account_check, checks_request
from accounts.services.guard import account_for_action, account_require
from accounts.services.sessions import (
    EXPORT_FORMATS,
    ImportOutcome,
    ImportReport,
    RotationReport,
    SessionExport,
    account_vault_entry,
    session_export,
    session_import,
    vault_rotate,
)
from accounts.services.teams import team_create, team_members_set

__all__ = [
    "EXPORT_FORMATS",
    "CheckBusyError",
    "ChecksRequested",
    "ImportOutcome",
    "ImportReport",
    "RotationReport",
    "SessionExport",
    "account_check",
    "account_delete",
    "account_for_action",
    "account_require",
    "account_update",
    "account_vault_entry",
    "checks_request",
    "session_export",
    "session_import",
    "team_create",
    "team_members_set",
    "vault_rotate",
]
