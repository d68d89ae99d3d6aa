"""Imports go in chunks: one transaction, one insert of accounts and one append to the audit chain per chunk, with
every file still answered on its own and the chain verifying exactly as when events were written one by one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import TelegramAccount, VaultBlob
from accounts.services import account_vault_entry, session_import
from accounts.services import sessions as sessions_module
from accounts.sessions import InputFile
from audit.models import AuditEvent
from audit.verify import audit_chain_verify
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def _files(keys: list[bytes]) -> list[InputFile]:
    return [InputFile(f"s{i}.txt", make.telethon_string(key=key).encode()) for i, key in enumerate(keys)]


@pytest.fixture
def chunk_of_three(monkeypatch):
    monkeypatch.setattr(sessions_module, "IMPORT_CHUNK", 3)


def test_chunks_answer_each_file_and_chain_their_events_in_file_order(vault, chunk_of_three) -> None:
    keys = [make.random_key() for _ in range(5)]
    files = _files(keys)
    files.insert(1, InputFile("junk.txt", b"not a session"))
    files.insert(2, _files([keys[0]])[0])  # the same key again, in the same chunk
    files.append(_files([keys[3]])[0])  # and a key of an earlier chunk

    report = session_import(actor=SYSTEM, files=files)

    results = [(o.result, o.account_id) for o in report.outcomes]
    ids = [o.account_id for o in report.outcomes if o.result == "imported"]
    assert [r for r, _ in results] == ["imported", "rejected", "duplicate", "imported", "imported", "imported",
                                       "imported", "duplicate"]  # fmt: skip
    assert results[2][1] == ids[0] and results[7][1] == ids[3]
    events = list(AuditEvent.objects.filter(action="session.import").order_by("sequence"))
    assert [int(e.target_id) for e in events] == ids and [e.details["file"] for e in events] == [
        files[i].name for i in (0, 3, 4, 5, 6)
    ]
    assert audit_chain_verify().problem is None
    for pk, key in zip(ids, keys, strict=True):
        assert account_vault_entry(TelegramAccount.objects.get(pk=pk)).record.auth_key == key
    assert sorted(p.name for p in vault.iterdir()) == sorted(TelegramAccount.objects.values_list("vault_name",
                                                                                                flat=True))  # fmt: skip


def test_a_chunk_costs_the_same_queries_however_many_files_it_holds(vault) -> None:
    def queries_for(n: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            session_import(actor=SYSTEM, files=_files([make.random_key() for _ in range(n)]))
        return len(captured.captured_queries)

    assert queries_for(12) == queries_for(4)  # (SQLite splits inserts of over 999 values; PostgreSQL never)


def test_a_key_stored_meanwhile_by_someone_else_fails_only_its_own_file(vault, chunk_of_three) -> None:
    keys = [make.random_key() for _ in range(6)]
    raced = make.telethon_string(key=keys[4]).encode()

    def another_import_lands(done: int) -> None:
        if not TelegramAccount.objects.filter(label="raced").exists():  # after the first chunk, before the second
            imported = session_import(actor=SYSTEM, files=[InputFile("other.txt", raced)])
            TelegramAccount.objects.filter(pk=imported.outcomes[0].account_id).update(label="raced")

    report = session_import(actor=SYSTEM, files=_files(keys), progress=another_import_lands)

    raced_id = TelegramAccount.objects.get(label="raced").pk
    assert [o.result for o in report.outcomes] == ["imported"] * 4 + ["duplicate", "imported"]
    assert report.outcomes[4].account_id == raced_id
    assert TelegramAccount.objects.count() == 6 and audit_chain_verify().problem is None
    assert len(list(vault.iterdir())) == 6  # the refused chunk's first try left no file behind


def test_on_the_database_store_a_chunk_is_one_insert_of_sealed_rows(vault, settings, chunk_of_three) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "sessions": {"BACKEND": "accounts.vault.db_storage.SessionDatabaseStorage"},
    }
    keys = [make.random_key() for _ in range(4)]

    report = session_import(actor=SYSTEM, files=_files(keys))

    assert [o.result for o in report.outcomes] == ["imported"] * 4
    names = set(TelegramAccount.objects.values_list("vault_name", flat=True))
    assert set(VaultBlob.objects.values_list("name", flat=True)) == names and not list(vault.glob("*.tgs"))
    for pk, key in zip([o.account_id for o in report.outcomes], keys, strict=True):
        assert account_vault_entry(TelegramAccount.objects.get(pk=pk)).record.auth_key == key
