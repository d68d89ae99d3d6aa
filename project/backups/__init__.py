"""Backups: one tar file with the database (every app's rows), the sealed session files and the audit checkpoints.

What is *not* in it, on purpose: the vault keys or passphrase and salt, SECRET_KEY and AUDIT_CHAIN_KEY. A
backup is ciphertext to whoever finds it; the keys are backed up separately (docs/operations.md).
"""

from project.backups.archive import BackupError, BackupSummary
from project.backups.create import backup_create
from project.backups.restore import backup_restore

__all__ = ["BackupError", "BackupSummary", "backup_create", "backup_restore"]
