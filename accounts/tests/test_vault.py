"""Sessions at rest: sealed, 0600 in 0700, deduplicated, rotatable, readable only with a right key."""

import base64
import logging
import os
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied

from accounts.models import TelegramAccount
from accounts.services import account_delete, account_vault_entry, session_export, session_import, vault_rotate
from accounts.sessions import InputFile, session_parse_one
from accounts.vault.crypto import VaultKeyError, vault_keys
from accounts.vault.sealed import ENCRYPTED, PLAINTEXT
from project.actors import SystemActor
from tests import session_makers as make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
SYSTEM = SystemActor("test")


def _import(*keys: bytes):
    files = [InputFile(f"s{i}.txt", make.telethon_string(key=key).encode()) for i, key in enumerate(keys)]
    return session_import(actor=SYSTEM, files=files)


def test_an_imported_session_is_sealed_0600_in_a_0700_directory(vault) -> None:
    key = make.random_key()
    report = _import(key)

    account = TelegramAccount.objects.get(pk=report.outcomes[0].account_id)
    path = vault / account.vault_name
    blob = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(vault.stat().st_mode) == 0o700
    assert blob.startswith(ENCRYPTED)
    for form in (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)):
        assert form[:32] not in blob
    assert [p.name for p in vault.iterdir()] == [account.vault_name]  # no temp file left behind


def test_the_stored_session_decrypts_to_the_imported_one(vault) -> None:
    key = make.random_key()
    report = _import(key)

    entry = account_vault_entry(TelegramAccount.objects.get(pk=report.outcomes[0].account_id))

    assert (entry.record.auth_key, entry.record.dc_id, entry.record.server_address) == (key, 2, "149.154.167.51")


def test_importing_a_stored_auth_key_again_creates_no_second_account(vault, tmp_path) -> None:
    key = make.random_key()
    first = _import(key)
    as_file = make.telethon_file(tmp_path / "same.session", key=key).read_bytes()

    again = session_import(actor=SYSTEM, files=[InputFile("same.session", as_file)])
    within_one_upload = _import(make.random_key(), make.random_key())
    twice = session_import(
        actor=SYSTEM,
        files=[InputFile("x.txt", make.telethon_string(key=key).encode()), InputFile("y.session", as_file)],
    )

    assert again.summary == {"imported": 0, "duplicate": 1, "rejected": 0}
    assert again.outcomes[0].account_id == first.outcomes[0].account_id
    assert within_one_upload.summary["imported"] == 2
    assert twice.summary == {"imported": 0, "duplicate": 2, "rejected": 0}
    assert TelegramAccount.objects.count() == 3
    assert len(list(vault.iterdir())) == 3


def test_rejected_files_store_nothing(vault) -> None:
    report = session_import(actor=SYSTEM, files=[InputFile("junk.session", os.urandom(600))])

    assert report.summary == {"imported": 0, "duplicate": 0, "rejected": 1}
    assert not TelegramAccount.objects.exists()
    assert not vault.exists() or not any(vault.iterdir())


def test_import_needs_the_add_permission(vault, viewer) -> None:
    with pytest.raises(PermissionDenied):
        session_import(actor=viewer, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())])

    assert not TelegramAccount.objects.exists()


def test_the_wrong_key_gives_a_clear_error_and_overwrites_nothing(vault, settings) -> None:
    report = _import(make.random_key())
    account = TelegramAccount.objects.get(pk=report.outcomes[0].account_id)
    before = (vault / account.vault_name).read_bytes()
    settings.SESSION_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(
        VaultKeyError, match=f"account {account.pk}: session cannot be decrypted with any configured key"
    ):
        account_vault_entry(account)
    rotation = vault_rotate(actor=SYSTEM)

    assert rotation.rotated == 0 and rotation.failed[0][0] == account.pk
    assert (vault / account.vault_name).read_bytes() == before


def test_rotation_moves_every_session_to_the_newest_key(vault, settings) -> None:
    old = settings.SESSION_ENCRYPTION_KEY[0]
    keys = [make.random_key() for _ in range(25)]
    _import(*keys)
    new = Fernet.generate_key().decode()
    settings.SESSION_ENCRYPTION_KEY = [new, old]

    report = vault_rotate(actor=SYSTEM)
    settings.SESSION_ENCRYPTION_KEY = [new]  # the old key retired

    assert (report.total, report.rotated, report.failed) == (25, 25, [])
    read_back = [account_vault_entry(a).record.auth_key for a in TelegramAccount.objects.order_by("pk")]
    assert read_back == keys


def test_a_password_derives_the_key_and_another_password_cannot_read(vault, settings) -> None:
    settings.SESSION_ENCRYPTION_KEY = []
    settings.SESSION_ENCRYPTION_PASSWORD = "a long vault passphrase"
    key = make.random_key()
    account = TelegramAccount.objects.get(pk=_import(key).outcomes[0].account_id)

    assert vault_keys().source == "password"
    assert account_vault_entry(account).record.auth_key == key
    settings.SESSION_ENCRYPTION_PASSWORD = "another passphrase entirely"
    with pytest.raises(VaultKeyError):
        account_vault_entry(account)
    settings.SESSION_ENCRYPTION_PREVIOUS_PASSWORD = "a long vault passphrase"
    assert vault_rotate(actor=SYSTEM).rotated == 1
    settings.SESSION_ENCRYPTION_PREVIOUS_PASSWORD = None
    assert account_vault_entry(account).record.auth_key == key


def test_disabled_encryption_is_explicit_and_rotation_encrypts_once_enabled(vault, settings) -> None:
    settings.SESSION_ENCRYPTION_ENABLED = False
    key = make.random_key()
    account = TelegramAccount.objects.get(pk=_import(key).outcomes[0].account_id)
    assert (vault / account.vault_name).read_bytes().startswith(PLAINTEXT)
    with pytest.raises(VaultKeyError, match="encryption is disabled"):
        vault_rotate(actor=SYSTEM)

    settings.SESSION_ENCRYPTION_ENABLED = True
    vault_rotate(actor=SYSTEM)

    assert (vault / account.vault_name).read_bytes().startswith(ENCRYPTED)
    assert account_vault_entry(account).record.auth_key == key


def test_a_loosened_file_is_tightened_with_a_warning(vault, caplog) -> None:
    account = TelegramAccount.objects.get(pk=_import(make.random_key()).outcomes[0].account_id)
    os.chmod(vault / account.vault_name, 0o644)

    with caplog.at_level(logging.WARNING, logger="accounts.vault.storage"):
        account_vault_entry(account)

    assert stat.S_IMODE((vault / account.vault_name).stat().st_mode) == 0o600
    assert "from mode 644 to 600" in caplog.text


def test_deleting_an_account_removes_its_vault_file(vault) -> None:
    account = TelegramAccount.objects.get(pk=_import(make.random_key()).outcomes[0].account_id)

    account_delete(actor=SYSTEM, account=account)

    assert not TelegramAccount.objects.exists()
    assert not (vault / account.vault_name).exists()


def test_export_needs_the_export_permission(vault, viewer, operator, blue_team) -> None:
    key = make.random_key()
    files = [InputFile("s.txt", make.telethon_string(key=key).encode())]
    account = TelegramAccount.objects.get(
        pk=session_import(actor=SYSTEM, files=files, team=blue_team).outcomes[0].account_id
    )

    with pytest.raises(PermissionDenied):
        session_export(actor=viewer, account=account, export_format="telethon_string")
    exported = session_export(actor=operator, account=account, export_format="telethon_string")

    assert session_parse_one(exported.content, name="e").auth_key == key


def test_the_canary_key_never_reaches_logs_or_errors(vault, settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    canary = make.CANARY_KEY
    account = TelegramAccount.objects.get(pk=_import(canary).outcomes[0].account_id)
    session_export(actor=SYSTEM, account=account, export_format="telethon_session")
    vault_rotate(actor=SYSTEM)
    settings.SESSION_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(VaultKeyError) as caught:
        account_vault_entry(account)

    seen = caplog.text + str(caught.value) + repr(account_vault_entry.__defaults__)
    for form in (
        canary.decode(),
        canary.hex(),
        base64.b64encode(canary).decode(),
        base64.urlsafe_b64encode(canary).decode(),
    ):
        assert form[:24] not in seen
    assert "CANARY" not in seen


def test_a_check_batch_reads_its_files_at_once_tightening_a_loosened_one(vault, caplog) -> None:
    from accounts.vault.storage import session_storage, vault_read_many

    accounts = [TelegramAccount.objects.get(pk=o.account_id) for o in _import(make.random_key(),
                                                                              make.random_key()).outcomes]  # fmt: skip
    os.chmod(vault / accounts[0].vault_name, 0o644)
    missing = TelegramAccount.new_vault_name()

    with caplog.at_level(logging.WARNING, logger="accounts.vault.storage"):
        blobs = vault_read_many(session_storage(), [a.vault_name for a in accounts] + [missing])

    assert blobs == {a.vault_name: (vault / a.vault_name).read_bytes() for a in accounts}  # the missing one left out
    assert all(account_vault_entry(a, blobs[a.vault_name]).record.dc_id == 2 for a in accounts)
    assert stat.S_IMODE((vault / accounts[0].vault_name).stat().st_mode) == 0o600
    assert "from mode 644 to 600" in caplog.text


def test_a_check_batch_read_leaves_out_names_that_are_not_the_vaults_own_files(vault, tmp_path) -> None:
    from accounts.vault.storage import session_storage, vault_read_many

    [account] = [TelegramAccount.objects.get(pk=o.account_id) for o in _import(make.random_key()).outcomes]
    (vault.parent / "outside.tgs").write_bytes(b"not the vault's")
    (vault / ".tmp-cut").write_bytes(b"a cut write")
    (vault / "imports").mkdir(exist_ok=True)
    (vault / "imports" / "staged.tgi").write_bytes(b"a staged upload")
    names = [account.vault_name, "../outside.tgs", ".tmp-cut", "imports/staged.tgi", "a\0b", "", "imports"]

    blobs = vault_read_many(session_storage(), names)

    assert blobs == {account.vault_name: (vault / account.vault_name).read_bytes()}
