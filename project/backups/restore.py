"""Restoring a backup into an empty database and session store; all of it, or nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction

from project.backups.archive import CHECKPOINTS, DATABASE, EXCLUDED, BackupError, BackupReader, BackupSummary


def backup_restore(path: Path, *, actor) -> BackupSummary:
    """Check the file, the keys and that the target is empty; then load the rows and write the session files."""
    from accounts.vault.crypto import VaultKeyError, vault_keys
    from accounts.vault.sealed import unseal_bytes
    from accounts.vault.storage import session_storage
    from audit.services import audit_record
    from audit.verify import audit_chain_verify

    reader = BackupReader(path)
    try:
        database = reader.read(DATABASE)
        names = reader.session_names()
        sessions = {name: reader.read("sessions/" + name) for name in names}
        checkpoints = reader.read(CHECKPOINTS) if CHECKPOINTS in reader.members else None
    finally:
        reader.close()
    keys = vault_keys()
    unreadable = []
    for name, blob in sessions.items():
        try:
            unseal_bytes(blob, keys)
        except VaultKeyError:
            unreadable.append(name)
    if unreadable:
        raise BackupError(
            f"{len(unreadable)} of {len(sessions)} session files in the backup cannot be opened with the current "
            "vault keys (SESSION_ENCRYPTION_KEY or _PASSWORD and its salt): set the keys that were in use when the "
            "backup was made, then restore again; nothing was changed"
        )
    _target_empty()
    storage = session_storage()
    present = [name for name in names if storage.exists(name)]
    if present:
        raise BackupError(f"the session store already holds {len(present)} of the backup's files (e.g. {present[0]}); "
                          "restore into an empty store; nothing was changed")  # fmt: skip
    written = []
    try:
        for name, blob in sessions.items():
            storage.save(name, ContentFile(blob))
            written.append(name)
        storage.sync_directory()
        with transaction.atomic():
            _seeded_rows_clear()
            with tempfile.TemporaryDirectory(prefix="tgfleet-restore-") as work:
                fixture = Path(work) / DATABASE
                fixture.write_bytes(database)
                call_command("loaddata", str(fixture), verbosity=0)
            report = audit_chain_verify()
            if report.problem:
                raise BackupError(f"the restored audit trail does not verify ({report.problem}): is AUDIT_CHAIN_KEY "
                                  "the one in use when the backup was made? nothing was changed")  # fmt: skip
            from accounts.models import TelegramAccount

            summary = BackupSummary(path, TelegramAccount.objects.count(), len(names), report.checked,
                                    path.stat().st_size)  # fmt: skip
            audit_record(actor=actor, action="backup.restore", details={
                "file": path.name, "accounts": summary.accounts, "sessions": len(names),
                "audit_events": report.checked})  # fmt: skip
    except BaseException:
        for name in written:
            storage.delete(name)
        raise
    if checkpoints is not None:
        _checkpoints_restore(checkpoints)
    return summary


def _target_empty() -> None:
    from django.contrib.auth import get_user_model
    from guardian.conf import settings as guardian_settings

    from accounts.models import TelegramAccount
    from audit.models import AuditEvent

    users = get_user_model().objects.exclude(username=guardian_settings.ANONYMOUS_USER_NAME)  # made by migrate
    found = {"accounts": TelegramAccount.objects.count(), "audit events": AuditEvent.objects.count(),
             "users": users.count()}  # fmt: skip
    held = ", ".join(f"{n} {what}" for what, n in found.items() if n)
    if held:
        raise BackupError(f"the database is not empty ({held}); restore into a new, migrated database before anyone "
                          "uses it (not even ensure_admin); nothing was changed")  # fmt: skip


def _seeded_rows_clear() -> None:
    """What migrate made in the tables the backup fills (content types, permissions, roles, schedules, the
    default route ...) gives way to the backup's own rows, primary keys and all. The tables are those dumpdata
    writes: every model not in EXCLUDED (read off the models, not by parsing the dump a second time). Foreign
    keys are checked at commit, by when every row they name is back."""
    from django.contrib.contenttypes.models import ContentType

    excluded = set(EXCLUDED)
    login = apps.get_model("accounts", "Login")  # sign-ins in progress name accounts: they end with them
    login._base_manager.all()._raw_delete(login._base_manager.db)
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed or {opts.app_label, opts.label_lower} & excluded:
            continue
        if opts.label_lower == "audit.auditevent":
            continue  # none (checked empty), and never deleted
        model._base_manager.all()._raw_delete(model._base_manager.db)
    ContentType.objects.clear_cache()


def _checkpoints_restore(data: bytes) -> None:
    target = Path(settings.AUDIT_CHECKPOINT_FILE)
    if target.exists() and target.stat().st_size:
        return  # this site has checkpoints of its own; the backup's stay in the backup
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600)
    target.write_bytes(data)
