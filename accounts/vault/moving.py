"""Moving a vault between the file store and the database store (SESSION_STORE), interrupt-safe and resumable.

Every sealed entry (each account's session, each queued import's upload) is copied as the same bytes: each write
is atomic (a file's rename, a row's upsert), an entry the target already holds byte for byte is skipped, so a run
stopped anywhere is finished by running it again. The source is deleted only when asked, only once the site
already reads from the target, and only entries the target holds identically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.models import Job, JobKind, JobState, TelegramAccount
from audit.models import Outcome
from audit.services import audit_record

STORES = ("files", "database")


class MoveError(Exception):
    """The move cannot be done as asked; nothing was changed."""


@dataclass
class MoveReport:
    total: int = 0
    copied: int = 0
    already: int = 0
    deleted: int = 0
    missing: list[str] = field(default_factory=list)


def store_open(kind: str) -> Storage:
    if kind not in STORES:
        raise MoveError(f"a session store is one of {', '.join(STORES)}, not {kind!r}")
    config = settings.SESSION_STORES[kind]
    return import_string(config["BACKEND"])(**config.get("OPTIONS", {}))


def vault_move(*, actor, to: str, delete_source: bool = False,
               progress: Callable[[int], None] | None = None) -> MoveReport:  # fmt: skip
    source_kind = next((kind for kind in STORES if kind != to), None) if to in STORES else None
    if source_kind is None:
        raise MoveError(f"--to must be one of {', '.join(STORES)}, not {to!r}")
    if delete_source and to != settings.SESSION_STORE:
        raise MoveError(f"--delete-source only once the site reads from the {to} store: set SESSION_STORE={to}, "
                        "restart, run the move again, then delete")  # fmt: skip
    source, target = store_open(source_kind), store_open(to)
    names = list(TelegramAccount.objects.order_by("pk").values_list("vault_name", flat=True))
    queued = Job.objects.filter(kind=JobKind.IMPORT, state__in=[JobState.QUEUED, JobState.RUNNING])
    names += [job.staged_name for job in queued]
    with transaction.atomic():
        audit_record(actor=actor, action="vault.move", details={"stage": "start", "from": source_kind, "to": to,
                                                                "entries": len(names)})  # fmt: skip
    report = MoveReport(total=len(names))
    for name in names:
        _move_one(source, target, name, report)
        if progress:
            progress(1)
    if hasattr(target, "sync_directory"):
        target.sync_directory()
    if delete_source and not report.missing:
        for name in names:
            if source.exists(name) and _read(target, name) == _read(source, name):
                source.delete(name)
                report.deleted += 1
    with transaction.atomic():
        outcome = Outcome.FAILED if report.missing else Outcome.ALLOWED
        audit_record(actor=actor, action="vault.move", outcome=outcome,
                     details={"stage": "done", "from": source_kind, "to": to, "copied": report.copied,
                              "already": report.already, "missing": len(report.missing),
                              "deleted": report.deleted})  # fmt: skip
    return report


def _move_one(source: Storage, target: Storage, name: str, report: MoveReport) -> None:
    data = _read(source, name)
    if data is None:
        if target.exists(name):
            report.already += 1  # moved by an earlier run whose source is gone since
        else:
            report.missing.append(name)
        return
    if _read(target, name) == data:
        report.already += 1
        return
    target.save(name, ContentFile(data))
    if _read(target, name) != data:
        raise MoveError(f"{name} did not read back as written in the target store; nothing was deleted")
    report.copied += 1


def _read(storage: Storage, name: str) -> bytes | None:
    try:
        with storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
