"""Backup and restore end to end, as an operator runs them: `manage.py backup` on one site, `manage.py restore`
into an empty database and store elsewhere (SQLite, and PostgreSQL when CI provides it), then every account
checks ok against the loopback DC and the audit trail verifies. Every refusal changes nothing."""

from __future__ import annotations

import io
import lzma
import tarfile
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from project.backups.archive import DATABASE
from tests import session_makers as make
from tests.processes import clean_env, manage
from tests.services import database_url, requirement_missing, service_url

pytestmark = [pytest.mark.timeout(300)]
ACCOUNTS = 3


def _run(env: dict, *args: str, ok: bool = True):
    result = manage(*args, env=env, timeout=180)
    if ok:
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
    return result


def _shell(env: dict, code: str) -> str:
    return _run(env, "shell", "-v0", "-c", code).stdout.strip()


@pytest.fixture
def keys() -> dict[str, str]:
    """The secrets an operator keeps apart from the backup (docs/operations.md)."""
    return {"SESSION_ENCRYPTION_KEY": Fernet.generate_key().decode(), "AUDIT_CHAIN_KEY": uuid.uuid4().hex * 2}


@pytest.fixture
def dc_env(telegram_dc, server_rsa_pem, tmp_path) -> dict[str, str]:
    pem = tmp_path / "server.pem"
    pem.write_text(server_rsa_pem)
    return {"TELEGRAM_SERVER_ADDRESS": f"127.0.0.1:{telegram_dc.port}", "TELEGRAM_SERVER_RSA_KEY_FILE": str(pem),
            "TELEGRAM_API_ID": "12345", "TELEGRAM_CHECK_TIMEOUT": "5"}  # fmt: skip


@pytest.fixture
def backup(tmp_path, keys, dc_env, telegram_dc) -> Path:
    """A site that imported and checked accounts, made its admin and a checkpoint, then backed itself up."""
    site = clean_env(DATA_DIR=str(tmp_path / "site-a"), ADMIN_PASSWORD="correct-horse-battery-9", **keys, **dc_env)
    _run(site, "migrate", "--noinput", "-v0")
    _run(site, "ensure_admin")
    _shell(
        site,
        "from django.contrib.auth.models import User; from tests.two_factor import authenticator_enrol; "
        "authenticator_enrol(User.objects.get(username='admin'))",
    )  # a secret that must not travel
    folder = tmp_path / "incoming"
    folder.mkdir()
    for i in range(ACCOUNTS):
        key = make.random_key()
        telegram_dc.add_key(key)
        (folder / f"acc{i}.txt").write_text(make.telethon_string(key=key, address="127.0.0.1"))
    _run(site, "import_sessions", str(folder), "--no-progress")
    _run(site, "check_accounts", "--all")
    _run(site, "audit_checkpoint")
    path = tmp_path / "tgfleet.tar"
    made = _run(site, "backup", str(path))
    assert f"{ACCOUNTS} accounts, {ACCOUNTS} session files" in made.stdout
    again = _run(site, "backup", str(path), ok=False)
    assert again.returncode == 1 and "exists" in again.stderr  # never over an existing file
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(path) as tar:
        dumped = lzma.decompress(tar.extractfile(DATABASE).read()).decode()
    assert '"model": "otp_totp.totpdevice"' not in dumped and '"model": "accounts.telegramaccount"' in dumped
    assert _shell(site, "from audit.models import AuditEvent as E; print(E.objects.filter(action='backup.create')"
                        ".count())") == "1"  # fmt: skip
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_site(request, tmp_path):
    """A new, empty installation to restore into: its own store, and its own database."""

    def make_site(name: str, **env: str) -> dict[str, str]:
        site = clean_env(DATA_DIR=str(tmp_path / name), **env)
        if request.param == "postgresql":
            site["DATABASE_URL"] = _database(request, name)
        return site

    return make_site


def _database(request, name: str) -> str:
    service_url("DATABASE_URL")
    from django.db import connection

    if connection.vendor != "postgresql":
        requirement_missing("restoring into PostgreSQL needs DATABASE_URL to name PostgreSQL")
    database = f"tgfleet_restore_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')

    def drop() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    request.addfinalizer(drop)
    url = database_url()
    return url.rsplit("/", 1)[0] + "/" + database


@pytest.mark.django_db(transaction=True)
def test_a_restored_site_checks_every_account_ok_and_its_trail_verifies(backup, empty_site, keys, dc_env) -> None:
    site = empty_site("site-b", **keys, **dc_env)

    restored = _run(site, "restore", str(backup))
    verified = _run(site, "verify_audit", "--checkpoints")
    checked = _run(site, "check_accounts", "--all")

    assert f"restored {backup}: {ACCOUNTS} accounts" in restored.stdout
    assert "audit trail intact" in verified.stdout and "checkpoints: 1 matched" in verified.stdout
    assert checked.stdout.count(": ok in ") == ACCOUNTS, checked.stdout
    admin = "from django.contrib.auth.models import User; admin = User.objects.get(username='admin'); "
    logged_in = _shell(site, admin + "print(admin.check_password('correct-horse-battery-9'))")
    assert logged_in == "True"  # the users came back, with their passwords
    assert (
        _shell(site, "from django_otp.plugins.otp_totp.models import TOTPDevice as D; print(D.objects.count())") == "0"
    )
    assert _shell(site, "from audit.models import AuditEvent as E; print(E.objects.filter(action='backup.restore')"
                        ".count())") == "1"  # fmt: skip
    store = Path(site["DATA_DIR"]) / "sessions"
    assert {oct(p.stat().st_mode & 0o777) for p in store.iterdir()} == {"0o600"}
    assert oct(store.stat().st_mode & 0o777) == "0o700"

    again = _run(site, "restore", str(backup), ok=False)
    assert again.returncode == 1 and "the database is not empty" in again.stderr


@pytest.mark.django_db(transaction=True)
def test_a_restore_with_other_keys_refuses_and_changes_nothing(backup, empty_site, keys, dc_env) -> None:
    wrong_vault = empty_site("site-c", **{**keys, "SESSION_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    wrong_chain = empty_site("site-d", **{**keys, "AUDIT_CHAIN_KEY": "z" * 40})

    refused = _run(wrong_vault, "restore", str(backup), ok=False)
    unverified = _run(wrong_chain, "restore", str(backup), ok=False)

    assert refused.returncode == 1 and f"{ACCOUNTS} of {ACCOUNTS} session files" in refused.stderr
    assert (
        unverified.returncode == 1 and "does not verify" in unverified.stderr and "AUDIT_CHAIN_KEY" in unverified.stderr
    )
    for site in (wrong_vault, wrong_chain):
        counts = _shell(site, "from accounts.models import TelegramAccount as T; from audit.models import AuditEvent "
                              "as E; print(T.objects.count(), E.objects.count())")  # fmt: skip
        assert counts == "0 0"
        store = Path(site["DATA_DIR"]) / "sessions"
        assert not store.exists() or not any(store.iterdir())
    for secret in keys.values():
        assert secret not in refused.stderr + unverified.stderr


def test_a_damaged_or_foreign_file_is_refused_by_name(backup, tmp_path, keys) -> None:
    site = clean_env(DATA_DIR=str(tmp_path / "site-e"), **keys)
    altered = tmp_path / "altered.tar"
    with tarfile.open(backup) as source, tarfile.open(altered, "w:") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == DATABASE:
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w:") as target:
        info = tarfile.TarInfo("../../etc/cron.d/x")
        target.addfile(info, io.BytesIO(b""))
    (tmp_path / "plain.txt").write_text("not a backup")

    answers = {name: _run(site, "restore", str(tmp_path / name), ok=False) for name in
               ("altered.tar", "evil.tar", "plain.txt", "missing.tar")}  # fmt: skip

    assert "does not match its checksum" in answers["altered.tar"].stderr
    assert "which no tgfleet backup holds" in answers["evil.tar"].stderr
    assert "not a tgfleet backup" in answers["plain.txt"].stderr
    assert "is not a file" in answers["missing.tar"].stderr
    assert all(a.returncode == 1 for a in answers.values())
    assert _shell(site, "from accounts.models import TelegramAccount as T; print(T.objects.count())") == "0"
