"""Changing and deleting accounts, each with its audit event in the same transaction."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import TelegramAccount
from accounts.services.guard import account_require
from accounts.services.teams import team_require_assignable
from accounts.vault.storage import session_storage
from audit.services import audit_record

logger = logging.getLogger(__name__)
EDITABLE = ("label", "phone", "username", "notes", "team")


def account_update(*, actor, account: TelegramAccount, **changes: object) -> TelegramAccount:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    account_require(actor=actor, account=account, codename="change_telegramaccount", action="account.change")
    before = TelegramAccount.objects.get(pk=account.pk)
    diff = {
        name: [str(getattr(before, name) or ""), str(value or "")]
        for name, value in changes.items()
        if getattr(before, name) != value
    }
    if not diff:
        return account
    if "team" in diff:
        team_require_assignable(actor=actor, team=changes["team"] or None, action="permission.change", target=account)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(account, name, value)
        account.full_clean(exclude=["vault_name", "auth_key_sha256"], validate_unique=False)
        account.save()
        if "team" in diff:
            audit_record(actor=actor, action="permission.change", target=account, details={"team": diff["team"]})
        audit_record(actor=actor, action="account.change", target=account, details={"changed": diff})
    return account


def account_delete(*, actor, account: TelegramAccount) -> None:
    """Delete the row and its vault file; the file goes only once the row is gone for good."""
    account_require(actor=actor, account=account, codename="delete_telegramaccount", action="account.delete")
    name = account.vault_name
    with transaction.atomic():
        audit_record(actor=actor, action="account.delete", target=account)
        account.delete()
        transaction.on_commit(lambda: session_storage().delete(name))
    logger.info("Account %s deleted by %s", name, actor)
