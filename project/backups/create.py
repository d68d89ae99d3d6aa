"""Making a backup: one consistent snapshot of the database, then the session files its accounts name."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from project.backups import archive
from project.backups.archive import CHECKPOINTS, DATABASE, MANIFEST, SESSIONS, BackupError, BackupSummary, sha256_file


def backup_create(path: Path, *, actor) -> BackupSummary:
    """Write the backup to ``path`` (0600, never over an existing file); audited, or no backup."""
    from accounts.models import TelegramAccount
    from accounts.vault.storage import session_storage
    from audit.models import AuditEvent
    from audit.services import audit_record

    if path.exists():
        raise BackupError(f"{path} exists; choose a new file (a backup never overwrites one)")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a directory")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tgfleet-backup-") as work:
        dump = Path(work) / DATABASE
        with transaction.atomic():
            if connection.vendor == "postgresql":  # every table as of one moment
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            excluded = [arg for label in archive.EXCLUDED for arg in ("--exclude", label)]
            call_command("dumpdata", "--format", "tgjson", *excluded, output=str(dump), verbosity=0)
            names = list(TelegramAccount.objects.values_list("vault_name", flat=True))
            events = AuditEvent.objects.count()
        storage = session_storage()
        files = {DATABASE: sha256_file(dump)}
        missing = []
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:") as tar:
                tar.add(dump, arcname=DATABASE)
                for name in names:
                    try:
                        with storage.open(name, "rb") as handle:  # a file or a database row (SESSION_STORE)
                            data = handle.read()
                    except FileNotFoundError:
                        missing.append(name)
                        continue
                    _add(tar, SESSIONS + name, data, files)
                checkpoints = Path(settings.AUDIT_CHECKPOINT_FILE)
                if checkpoints.is_file():
                    _add(tar, CHECKPOINTS, checkpoints.read_bytes(), files)
                manifest = {
                    "format": archive.FORMAT, "version": archive.VERSION, "created_at": timezone.now().isoformat(),
                    "database_vendor": connection.vendor, "accounts": len(names), "audit_events": events,
                    "missing_sessions": missing, "files": files,
                }  # fmt: skip
                _add(tar, MANIFEST, json.dumps(manifest, indent=1).encode(), None)
                raw.flush()
                os.fsync(raw.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    summary = BackupSummary(path, len(names), len(names) - len(missing), events, path.stat().st_size)
    try:
        with transaction.atomic():
            audit_record(actor=actor, action="backup.create", details={
                "file": path.name, "sha256": sha256_file(path), "accounts": summary.accounts,
                "sessions": summary.sessions, "audit_events": events, "missing_sessions": len(missing),
                "seconds": round(time.monotonic() - started, 1)})  # fmt: skip
    except Exception:
        path.unlink(missing_ok=True)  # no record of it, no backup
        raise
    return summary


def _add(tar: tarfile.TarFile, name: str, data: bytes, files: dict | None) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))
    if files is not None:
        files[name] = hashlib.sha256(data).hexdigest()
