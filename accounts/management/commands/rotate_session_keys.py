import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import TelegramAccount
from accounts.services import vault_rotate
from accounts.vault.crypto import VaultKeyError
from project.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored session under the newest key (first in SESSION_ENCRYPTION_KEY). "
        "Safe to interrupt and run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, no_progress: bool, **options: object) -> None:
        total = TelegramAccount.objects.count()
        try:
            with tqdm(total=total, unit="session", disable=no_progress, file=sys.stderr) as bar:
                report = vault_rotate(actor=SystemActor("rotate_session_keys"), progress=bar.update)
        except VaultKeyError as exc:
            raise CommandError(str(exc)) from None
        for pk, reason in report.failed:
            self.stdout.write(f"failed account {pk}: {reason}")
        for pk, reason in report.proxies_failed:
            self.stdout.write(f"failed proxy {pk}: {reason}")
        proxies = f"proxy secrets rotated {report.proxies_rotated}, failed {len(report.proxies_failed)}"
        self.stdout.write(f"rotated {report.rotated} of {report.total}, failed {len(report.failed)}; {proxies}")
        if report.failed or report.proxies_failed:
            raise SystemExit(1)
