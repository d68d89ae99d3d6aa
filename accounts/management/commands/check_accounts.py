import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import TelegramAccount
from accounts.services import CheckBusyError, account_check
from project.actors import SystemActor


class Command(BaseCommand):
    help = "Check accounts now, in the foreground, and print each one's outcome and new status."

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="account ids")
        parser.add_argument("--all", action="store_true", help="every account")

    def handle(self, *args: object, ids: list[int], all: bool, **options: object) -> None:
        if bool(ids) == all:
            raise CommandError("give account ids or --all (not both)")
        accounts = TelegramAccount.objects.order_by("pk")
        if ids:
            accounts = accounts.filter(pk__in=ids)
            missing = sorted(set(ids) - set(accounts.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no account with id {', '.join(map(str, missing))}")
        actor = SystemActor("check_accounts")
        failed = 0
        for account in tqdm(list(accounts), unit="account", file=sys.stderr, disable=len(ids) == 1):
            try:
                done = account_check(actor=actor, account=account)
            except CheckBusyError as exc:
                self.stdout.write(f"{account.pk} {account.label}: skipped ({exc})")
                failed += 1
                continue
            detail = f" ({done.result.detail})" if done.result.detail else ""
            self.stdout.write(
                f"{account.pk} {account.label}: {done.result.outcome}{detail} in {done.result.latency_ms} ms, "
                f"status {done.previous_status} -> {done.status}"
            )
        if failed:
            raise SystemExit(1)
