"""The vault sweep: entries no row names (left by a process killed between the vault and the database) go once an
hour old; what a row names, what is still young, and what the vault does not use stay; no audit record, no sweep."""

import datetime as dt
import os
import time
import uuid

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Job, JobState, TelegramAccount, VaultBlob
from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tasks import vault_sweep_task
from accounts.vault.storage import session_storage
from accounts.vault.sweep import vault_sweep
from audit.models import AuditEvent
from audit.services import AuditUnavailableError
from audit.tests.test_audit_trail import _break_audit_inserts, _repair_audit_inserts
from project.actors import SystemActor
from tests import session_makers as make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
SYSTEM = SystemActor("test")
TWO_HOURS_AGO = time.time() - 7200


def _accounts(n: int) -> list[TelegramAccount]:
    files = [InputFile(f"s{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(n)]
    session_import(actor=SYSTEM, files=files)
    return list(TelegramAccount.objects.order_by("pk"))


def _plant(names: list[str], *, old: bool) -> None:
    """Entries as a killed process leaves them: a sealed blob under a name no row holds."""
    storage = session_storage()
    for name in names:
        storage.save(name, ContentFile(b"TGV1F\nsealed-" + name.encode()))
    if old:
        _age(names)


def _age(names: list[str]) -> None:
    storage = session_storage()
    if hasattr(storage, "location"):
        for name in names:
            os.utime(storage.path(name), (TWO_HOURS_AGO, TWO_HOURS_AGO))
    else:
        VaultBlob.objects.filter(name__in=names).update(updated_at=timezone.now() - dt.timedelta(hours=2))


def _stored() -> set[str]:
    return {name for name, _modified in session_storage().entries()}


def _sweep_events() -> list[dict]:
    return list(AuditEvent.objects.filter(action="vault.sweep").values_list("details", flat=True))


@pytest.fixture(params=["files", "database"])
def store(request, vault, settings):
    if request.param == "database":
        settings.STORAGES = {**settings.STORAGES,
                             "sessions": {"BACKEND": "accounts.vault.db_storage.SessionDatabaseStorage"}}  # fmt: skip
    return request.param


def test_old_entries_no_row_names_go_and_everything_else_stays(store, admin_user) -> None:
    kept_accounts = _accounts(2)
    _age([a.vault_name for a in kept_accounts])  # old, but an account names them
    queued = Job.objects.create(created_by=admin_user, uploaded=["a.zip"])
    finished = Job.objects.create(created_by=admin_user, uploaded=["b.zip"], state=JobState.DONE)
    orphans = [TelegramAccount.new_vault_name(), TelegramAccount.new_vault_name(), finished.staged_name]
    young = [TelegramAccount.new_vault_name()]
    _plant([*orphans, queued.staged_name], old=True)
    _plant(young, old=False)
    if store == "files":
        foreign = session_storage().path("notes.txt")  # not a name the vault uses: never ours to delete
        with open(foreign, "w") as handle:
            handle.write("an operator's file")
        temp = session_storage().path(".tmp-k1ll3d")  # a write cut short
        with open(temp, "wb") as handle:
            handle.write(b"half")
        os.utime(foreign, (TWO_HOURS_AGO, TWO_HOURS_AGO))
        os.utime(temp, (TWO_HOURS_AGO, TWO_HOURS_AGO))
        orphans.append(".tmp-k1ll3d")

    report = vault_sweep()

    assert (report.removed, report.failed) == (len(orphans), 0)
    assert report.temp_files == (1 if store == "files" else 0)
    stored = _stored()
    assert not stored & set(orphans)
    assert {a.vault_name for a in kept_accounts} | {queued.staged_name, *young} <= stored
    if store == "files":
        assert "notes.txt" in stored
    assert _sweep_events() == [{"entries": 3, "temp_files": report.temp_files, "older_than_seconds": 3600}]

    assert vault_sweep_task() == 0  # nothing left to sweep: no second record either
    assert len(_sweep_events()) == 1


def test_a_young_entry_goes_once_it_is_older_than_the_grace(store) -> None:
    [name] = young = [TelegramAccount.new_vault_name()]
    _plant(young, old=False)

    assert vault_sweep().removed == 0
    assert vault_sweep(now=timezone.now() + dt.timedelta(minutes=61)).removed == 1
    assert name not in _stored()


def test_nothing_is_deleted_when_the_sweep_cannot_be_audited(vault) -> None:
    orphan = f"{uuid.uuid4().hex}.tgs"
    _plant([orphan], old=True)

    _break_audit_inserts()
    try:
        with pytest.raises(AuditUnavailableError):
            vault_sweep()
    finally:
        _repair_audit_inserts()

    assert orphan in _stored()
    assert vault_sweep().removed == 1
