import sys
import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts.models import TelegramAccount
from accounts.services.checks import checks_request, checks_run, leases_held
from project.actors import SystemActor


class Command(BaseCommand):
    help = (
        "Check accounts now, in the foreground, and print each one's outcome and new status. Checks run "
        "concurrently (CHECK_CONCURRENCY at a time) through the workers' own batch path."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="account ids")
        parser.add_argument("--all", action="store_true", help="every account")
        parser.add_argument(
            "--deep", action="store_true",
            help="the deep check instead: spam block, freeze, restrictions, two-step password, other sessions "
            "(and @SpamBot where the team allows)",
        )  # fmt: skip

    def handle(self, *args: object, ids: list[int], all: bool, deep: bool = False, **options: object) -> None:
        if bool(ids) == all:
            raise CommandError("give account ids or --all (not both)")
        accounts = TelegramAccount.objects.order_by("pk")
        if ids:
            accounts = accounts.filter(pk__in=ids)
            missing = sorted(set(ids) - set(accounts.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no account with id {', '.join(map(str, missing))}")
        accounts = list(accounts)
        if deep:
            return self._deep(accounts)
        owner = f"command:{uuid.uuid4().hex[:12]}"
        with leases_held([a.pk for a in accounts], owner=owner) as held:
            claimed = set(held)
            skipped = [a for a in accounts if a.pk not in claimed]
            chosen = [a for a in accounts if a.pk in claimed]
            checks_request(actor=SystemActor("check_accounts"), accounts=chosen)  # audited, one event each
            done = {}
            size = settings.CHECK_BATCH_SIZE
            with tqdm(total=len(chosen), unit="account", file=sys.stderr, disable=len(accounts) == 1) as bar:
                for start in range(0, len(chosen), size):
                    batch = [a.pk for a in chosen[start : start + size]]
                    done.update({d.account_id: d for d in checks_run(batch, owner=owner, progress=bar.update)})
        failed = len(skipped)
        for account in accounts:
            if account.pk not in claimed:
                self.stdout.write(f"{account.pk} {account.label}: skipped (being checked elsewhere right now)")
            elif account.pk not in done:
                self.stdout.write(f"{account.pk} {account.label}: skipped (its session cannot be read; see the log)")
                failed += 1
            else:
                d = done[account.pk]
                detail = f" ({d.result.detail})" if d.result.detail else ""
                self.stdout.write(
                    f"{account.pk} {account.label}: {d.result.outcome}{detail} in {d.result.latency_ms} ms, "
                    f"status {d.previous_status} -> {d.status}"
                )
        if failed:
            raise SystemExit(1)

    def _deep(self, accounts: list[TelegramAccount]) -> None:
        from accounts.services.deep_checks import deep_checks_run
        from audit.services import audit_record

        actor = SystemActor("check_accounts")
        with transaction.atomic():
            for account in accounts:
                audit_record(actor=actor, action="account.deep_check", target=account)
        done, size = {}, settings.DEEP_CHECK_BATCH_SIZE
        with tqdm(total=len(accounts), unit="account", file=sys.stderr, disable=len(accounts) == 1) as bar:
            for start in range(0, len(accounts), size):
                batch = [a.pk for a in accounts[start : start + size]]
                done.update({d.account_id: d for d in deep_checks_run(batch)})
                bar.update(len(batch))
        failed = 0
        for account in accounts:
            d = done.get(account.pk)
            if d is None:
                self.stdout.write(f"{account.pk} {account.label}: skipped (being checked elsewhere right now)")
                failed += 1
                continue
            self.stdout.write(f"{account.pk} {account.label}: {d.outcome}; {standing_line(d.standing)}")
            failed += d.outcome != "ok"
        if failed:
            raise SystemExit(1)


def standing_line(s) -> str:
    """One line of what Telegram holds against the account (unknown where this check could not tell)."""

    def said(value) -> str:
        return "unknown" if value is None else ("yes" if value else "no")

    spam = said(s.spam_blocked) + (f" ({s.spam_kind})" if s.spam_kind else "")
    frozen = said(s.frozen) + (f" (deleted {s.freeze_until:%Y-%m-%d} unless appealed)" if s.freeze_until else "")
    flags = ",".join(f for f in ("restricted", "scam", "fake") if getattr(s, f)) or "none"
    return (f"spam-blocked {spam}, frozen {frozen}, flags {flags}, two-step {said(s.two_step)}, "
            f"other sessions {'unknown' if s.other_sessions is None else s.other_sessions}")  # fmt: skip
