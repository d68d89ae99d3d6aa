"""Fetching an account for an action: invisible is 404, visible-but-not-permitted is 403; both are audited."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import ACCOUNT_ID_PATTERN, TelegramAccount
from accounts.permissions import account_permitted
from audit.services import audit_denied


def account_id_parse(value: int | str) -> int:
    """An account id as a URL or form carries it, canonical (ASCII decimal, no sign or leading zero), or 404."""
    text = str(value)
    if not re.fullmatch(ACCOUNT_ID_PATTERN, text):
        raise Http404("No such account.")
    return int(text)


def account_for_action(*, actor, account_id: int | str, codename: str, action: str) -> TelegramAccount:
    account_id = account_id_parse(account_id)
    account = TelegramAccount.objects.restrict(actor).filter(pk=account_id).first()
    if account is None:
        audit_denied(
            actor=actor, action=action, target_type="accounts.telegramaccount", target_id=str(account_id),
            details={"reason": "not visible"},
        )  # fmt: skip
        raise Http404("No such account.")
    account_require(actor=actor, account=account, codename=codename, action=action)
    return account


def account_require(*, actor, account: TelegramAccount, codename: str, action: str) -> None:
    if not account_permitted(actor, codename, account):
        audit_denied(actor=actor, action=action, target=account, details={"reason": f"lacks {codename}"})
        raise PermissionDenied(f"you may not {action.split('.')[-1]} this account")
