import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import TelegramAccount
from accounts.vault.moving import STORES, MoveError, vault_move
from project.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Copy every sealed session to the other session store (SESSION_STORE files|database), as the same bytes. "
        "Safe to interrupt and run again (what the target holds already is skipped). Then set SESSION_STORE to "
        "the target and restart; run again to copy what was made meanwhile; --delete-source then clears the old one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--to", required=True, choices=STORES, help="the store to move the vault into")
        parser.add_argument("--delete-source", action="store_true",
                            help="then delete what the target holds identically from the other store (only once "
                            "SESSION_STORE names the target)")  # fmt: skip
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, to: str, delete_source: bool, no_progress: bool, **options: object) -> None:
        total = TelegramAccount.objects.count()
        try:
            with tqdm(total=total, unit="session", disable=no_progress, file=sys.stderr) as bar:
                report = vault_move(actor=SystemActor("move_session_store"), to=to, delete_source=delete_source,
                                    progress=bar.update)  # fmt: skip
        except MoveError as exc:
            raise CommandError(str(exc)) from None
        for name in report.missing:
            self.stdout.write(f"missing in both stores: {name}")
        self.stdout.write(f"{report.total} entries: copied {report.copied}, already there {report.already}, "
                          f"missing {len(report.missing)}, deleted from the source {report.deleted}")  # fmt: skip
        if report.missing:
            raise SystemExit(1)
        if to != settings.SESSION_STORE:
            self.stdout.write(
                f"now set SESSION_STORE={to}, restart, and run this again to copy what was made meanwhile"
            )
