from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from project.actors import SystemActor
from project.backups import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into an empty database and session store: migrates first, "
        "checks every session file opens with the current vault keys and the audit trail verifies with "
        "AUDIT_CHAIN_KEY, then loads everything in one transaction. Refuses, changing nothing, otherwise."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="a backup file")

    def handle(self, *args: object, file: Path, **options: object) -> None:
        call_command("migrate", "--noinput", verbosity=0)
        try:
            summary = backup_restore(file, actor=SystemActor("restore"))
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {summary.path}: {summary.accounts} accounts, {summary.sessions} session files, "
                          f"{summary.audit_events} audit events; next: verify_audit, check_accounts --all")  # fmt: skip
