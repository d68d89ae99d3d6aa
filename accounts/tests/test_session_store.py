"""SESSION_STORE=database: the vault as sealed rows (no shared disk for worker hosts), and moving a vault between
the file and the database store, interrupt-safe and resumable."""

from __future__ import annotations

import tarfile

import pytest
from cryptography.fernet import Fernet
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from accounts.models import AccountStatus, TelegramAccount, VaultBlob
from accounts.services import account_check, account_delete, session_export, session_import, vault_rotate
from accounts.sessions import InputFile
from accounts.vault.moving import MoveError, store_open, vault_move
from audit.models import AuditEvent
from conftest import SYSTEM
from health.checks.builtin import SessionStoreCheck
from project.backups.create import backup_create
from tests import session_makers as make

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


@pytest.fixture
def files_store(vault, settings):
    """The vault fixture's file store, with the database store configured beside it (not in use)."""
    settings.SESSION_STORE = "files"
    settings.SESSION_STORES = {"files": settings.STORAGES["sessions"],
                               "database": {"BACKEND": "accounts.vault.db_storage.SessionDatabaseStorage"}}  # fmt: skip
    return vault


def _use(settings, kind: str) -> None:
    settings.SESSION_STORE = kind
    settings.STORAGES = {**settings.STORAGES, "sessions": settings.SESSION_STORES[kind]}


def _import(dc, n: int, key: bytes | None = None) -> list[TelegramAccount]:
    keys = [key or make.random_key() for _ in range(n)]
    for k in keys:
        dc.add_key(k)
    files = [InputFile(f"{i}.txt", make.telethon_string(key=k, address="127.0.0.1").encode()) for i, k in
             enumerate(keys)]  # fmt: skip
    session_import(actor=SYSTEM, files=files)
    return list(TelegramAccount.objects.order_by("pk"))


def test_the_database_store_holds_sealed_rows_and_all_works_on_it(
    files_store, settings, telegram_dc, django_capture_on_commit_callbacks
) -> None:
    _use(settings, "database")
    [account] = _import(telegram_dc, 1, key=make.CANARY_KEY)

    row = VaultBlob.objects.get(name=account.vault_name)
    assert bytes(row.data).startswith(b"TGV1F\ngAAAAA") and make.CANARY_KEY[:32] not in bytes(row.data)  # sealed
    assert not any(files_store.iterdir()) if files_store.exists() else True  # nothing on disk
    assert account_check(actor=SYSTEM, account=account).status == AccountStatus.OK
    assert session_export(actor=SYSTEM, account=account, export_format="telethon_string").content
    assert SessionStoreCheck().run().ok

    before = bytes(row.data)
    settings.SESSION_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *settings.SESSION_ENCRYPTION_KEY]
    assert vault_rotate(actor=SYSTEM).rotated == 1
    settings.SESSION_ENCRYPTION_KEY = settings.SESSION_ENCRYPTION_KEY[:1]  # the old key goes: nothing is lost
    assert bytes(VaultBlob.objects.get(name=account.vault_name).data) != before
    assert account_check(actor=SYSTEM, account=account).status == AccountStatus.OK

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(actor=SYSTEM, account=account)
    assert not VaultBlob.objects.exists()


def test_a_check_batch_on_the_database_store_reads_its_sessions_in_one_query(
    files_store, settings, telegram_dc
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.services.checks import checks_run, leases_claim

    _use(settings, "database")
    accounts = _import(telegram_dc, 4)
    VaultBlob.objects.filter(name=accounts[1].vault_name).delete()  # one session gone from the store

    with CaptureQueriesContext(connection) as queries:
        done = {d.account_id: d for d in checks_run(leases_claim([a.pk for a in accounts], owner="t"), owner="t")}

    reads = [q["sql"] for q in queries if VaultBlob._meta.db_table in q["sql"]]
    # The batch's sessions at once, not one query per account; only the missing one is asked for again, alone.
    assert len(reads) == 2 and " IN " in reads[0] and accounts[1].vault_name in reads[1]
    assert [done[a.pk].result.outcome for a in accounts] == ["ok", "error", "ok", "ok"]
    assert done[accounts[1].pk].result.detail == "its session cannot be read (not in the database store)"


def test_a_vault_moves_to_the_database_and_back_resuming_where_it_stopped(files_store, settings,
                                                                          telegram_dc) -> None:  # fmt: skip
    accounts = _import(telegram_dc, 5)
    database = store_open("database")
    # As if an earlier run stopped after two entries, one of them half-written (wrong bytes).
    first = files_store.joinpath(accounts[0].vault_name).read_bytes()
    database.save(accounts[0].vault_name, ContentFile(first))
    database.save(accounts[1].vault_name, ContentFile(b"half-written"))

    report = vault_move(actor=SYSTEM, to="database")
    assert (report.total, report.copied, report.already, report.missing) == (5, 4, 1, [])
    assert vault_move(actor=SYSTEM, to="database").already == 5  # run again: nothing left to do
    with pytest.raises(MoveError, match="only once the site reads from the database store"):
        vault_move(actor=SYSTEM, to="database", delete_source=True)
    assert len(list(files_store.glob("*.tgs"))) == 5  # refused: nothing deleted

    _use(settings, "database")
    assert all(account_check(actor=SYSTEM, account=a).status == AccountStatus.OK for a in accounts)
    assert vault_move(actor=SYSTEM, to="database", delete_source=True).deleted == 5
    assert list(files_store.glob("*.tgs")) == []

    assert vault_move(actor=SYSTEM, to="files").copied == 5  # and back
    _use(settings, "files")
    assert all(account_check(actor=SYSTEM, account=a).status == AccountStatus.OK for a in accounts)
    stages = list(AuditEvent.objects.filter(action="vault.move").values_list("details__stage", flat=True))
    assert stages.count("start") == stages.count("done") == 4  # the refused one changed nothing, so told nothing


def test_move_session_store_names_bad_arguments_and_what_it_did(files_store, settings, telegram_dc, capsys) -> None:
    _import(telegram_dc, 2)
    with pytest.raises(CommandError, match="invalid choice: 'cloud'"):
        call_command("move_session_store", "--to", "cloud")
    with pytest.raises(CommandError, match="only once the site reads"):
        call_command("move_session_store", "--to", "database", "--delete-source")
    call_command("move_session_store", "--to", "database", "--no-progress")
    out = capsys.readouterr().out
    assert "2 entries: copied 2, already there 0, missing 0, deleted from the source 0" in out
    assert "now set SESSION_STORE=database" in out


@pytest.mark.django_db(transaction=True)  # a backup reads in a transaction of its own (REPEATABLE READ)
def test_a_backup_reads_the_database_store(files_store, settings, telegram_dc, tmp_path) -> None:
    _use(settings, "database")
    [account] = _import(telegram_dc, 1)
    target = tmp_path / "backup.tar"
    backup_create(target, actor=SYSTEM)
    with tarfile.open(target) as tar:
        member = tar.extractfile(f"sessions/{account.vault_name}").read()
    assert member == bytes(VaultBlob.objects.get(name=account.vault_name).data)
