from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from project.actors import SystemActor
from project.backups import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write a backup to FILE: the database (every app's rows, one consistent snapshot), the sealed session "
        "files and the audit checkpoints. Not in it: the vault keys, SECRET_KEY, AUDIT_CHAIN_KEY (back those up "
        "apart; see docs/operations.md). The file is 0600 and never overwrites one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="the new backup file, e.g. tgfleet-2026-11-29.tar")

    def handle(self, *args: object, file: Path, **options: object) -> None:
        try:
            summary = backup_create(file, actor=SystemActor("backup"))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"backup written to {summary.path}: {summary.accounts} accounts, {summary.sessions} session "
                          f"files, {summary.audit_events} audit events, {summary.bytes} bytes")  # fmt: skip
