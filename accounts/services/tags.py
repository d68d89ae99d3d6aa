"""Tags on accounts: add and remove them in bulk, all of the chosen accounts or none, audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Tag, TelegramAccount, tag_name
from audit.services import audit_denied, audit_record

MAX_TAGS = 20


class TagError(ValueError):
    """The request names a bad tag, an account one may not change, or a new tag one may not make."""


def tag_names_clean(names: Iterable[str]) -> list[str]:
    cleaned = sorted({" ".join(str(n).split()) for n in names if str(n).strip()})
    if len(cleaned) > MAX_TAGS:
        raise TagError(f"at most {MAX_TAGS} tags at a time")
    for name in cleaned:
        try:
            tag_name(name)
        except ValidationError:
            raise TagError(f"{name[:50]!r} is not a tag name: 1-40 letters, digits, spaces, . : - or _") from None
    return cleaned


def accounts_tags_edit(*, actor, accounts: Iterable[TelegramAccount], add: Iterable[str] = (),
                       remove: Iterable[str] = ()) -> int:  # fmt: skip
    """Add and remove tags on every chosen account; returns how many accounts. Refuses (audited, changing
    nothing) if one of them is not the actor's to change, or a new tag is needed and they may not make tags."""
    added, removed = tag_names_clean(add), tag_names_clean(remove)
    ids = sorted({a.pk for a in accounts})
    allowed = set(TelegramAccount.objects.restrict(actor, "change").filter(pk__in=ids).values_list("pk", flat=True))
    if set(ids) - allowed:
        audit_denied(actor=actor, action="account.tags", details={"accounts": len(ids), "not_permitted":
                     len(set(ids) - allowed), "added": added, "removed": removed})  # fmt: skip
        raise TagError("some of these accounts are not yours to change; nothing was tagged")
    existing = {t.name: t for t in Tag.objects.filter(name__in=added)}
    missing = [n for n in added if n not in existing]
    if missing and not (actor.is_superuser or actor.has_perm("accounts.add_tag")):
        audit_denied(actor=actor, action="account.tags", details={"new_tags": missing})
        raise TagError(f"no tag named {missing[0]!r}, and you may not make new tags")
    through = TelegramAccount.tags.through
    with transaction.atomic():
        for name in missing:
            existing[name] = Tag.objects.create(name=name)
        rows = [through(telegramaccount_id=pk, tag_id=existing[n].pk) for pk in ids for n in added]
        through.objects.bulk_create(rows, ignore_conflicts=True)
        if removed:
            through.objects.filter(telegramaccount_id__in=ids, tag__name__in=removed).delete()
        details = {"accounts": len(ids), "ids": ids[:100], "added": added, "removed": removed, "new_tags": missing}
        audit_record(actor=actor, action="account.tags", details=details)
    return len(ids)
