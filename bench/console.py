"""Console benchmark, on PostgreSQL (DATABASE_URL must name an empty or disposable database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench .venv/bin/python bench/console.py

A fleet of 10,000 accounts in 10 teams, each checked every 15 minutes for the last 24 hours
(960,000 check records), one account with 7 days of history. Each page is timed through the
full Django stack (test client, logged in) against Django's stock admin in the same run
(bench/console_urls.py): the fleet dashboard vs the stock admin index, the account list vs a
stock changelist of the same accounts, the account page vs a stock change form. For an
admin (every account) and for a team-scoped operator (1,000 accounts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import django_on_postgres, p95, served_process  # noqa: E402

STATUSES = ["ok"] * 90 + ["uncertain"] * 3 + ["offline", "unauthorized", "banned", "flood_wait"] + ["ok"] * 3
OUTCOMES = ["ok"] * 95 + ["network", "timeout", "flood_wait", "revoked", "server_error"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--interval-minutes", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    django_on_postgres("/tmp/tgfleet-bench-console", collectstatic=True)
    served_process()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.cache import cache
    from django.db import connection
    from django.test import override_settings
    from django.utils import timezone

    from accounts.models import Team, TelegramAccount
    from accounts.services import team_create
    from project.actors import SystemActor
    from tests.two_factor import TwoFactorClient as Client  # signs in through two-factor where needed

    system = SystemActor("bench")
    with connection.cursor() as cursor:  # a clean slate: this database is the benchmark's
        cursor.execute("TRUNCATE accounts_checkrecord, accounts_checkhour, accounts_statustransition,"
                       " accounts_accountgroupobjectpermission, accounts_telegramaccount CASCADE")  # fmt: skip
    Team.objects.all().delete()
    Group.objects.filter(name__startswith="team:bench-team-").delete()
    get_user_model().objects.filter(username__startswith="bench-").delete()

    started = time.perf_counter()
    teams = [team_create(actor=system, name=f"bench-team-{t}") for t in range(args.teams)]
    now = timezone.now()
    TelegramAccount.objects.bulk_create(
        [TelegramAccount(label=f"acc{i:05}", dc_id=2, source_format="telethon_sqlite", vault_name=f"b{i}.tgs",
                         auth_key_sha256=f"{i:064x}", team=teams[i % args.teams], status=STATUSES[i % 100],
                         last_checked_at=now) for i in range(args.accounts)],
        batch_size=2000,
    )  # fmt: skip
    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True))
    per_day = 24 * 60 // args.interval_minutes
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
        "COPY accounts_checkrecord (account_id, at, outcome, detail, latency_ms) FROM STDIN"
    ) as copy:  # fmt: skip
        for n, pk in enumerate(ids):
            for k in range(per_day):
                at = now - dt.timedelta(minutes=k * args.interval_minutes + n % args.interval_minutes)
                copy.write_row((pk, at, OUTCOMES[(n + k) % 100], "", 80 + (n * 7 + k * 13) % 400))
        for k in range(per_day * 7):  # one account's week
            at = now - dt.timedelta(days=1, minutes=k * args.interval_minutes)
            copy.write_row((ids[0], at, OUTCOMES[k % 100], "", 80 + (k * 13) % 400))
    with connection.cursor() as cursor:  # the hourly counts the check batches would have added as they went
        cursor.execute("INSERT INTO accounts_checkhour (hour, team_ref, outcome, count, latency_sum) "
                       "SELECT date_trunc('hour', r.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', coalesce(a.team_id, 0), "
                       "r.outcome, count(*), sum(r.latency_ms) FROM accounts_checkrecord r "
                       "JOIN accounts_telegramaccount a ON a.id = r.account_id GROUP BY 1, 2, 3")  # fmt: skip
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves tables some minutes after a bulk load
    records = per_day * len(ids) + per_day * 7
    print(f"fleet: {len(ids):,} accounts, {records:,} check records, built in {time.perf_counter() - started:.1f} s")

    users = get_user_model().objects
    admin = users.create_user("bench-admin", password="x-bench-password-1", is_staff=True)
    admin.groups.add(Group.objects.get(name="admin"))
    operator = users.create_user("bench-operator", password="x-bench-password-1", is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"), teams[0].group)

    def timed(user, url: str, cold: bool = False) -> list[float]:
        client = Client()
        client.force_login(user)
        first = client.get(url)
        assert first.status_code == 200, (url, first.status_code)
        samples = []
        for _ in range(args.rounds):
            if cold:
                cache.clear()  # nothing kept: every hour of the chart counted again, health checks rerun
            start = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200
        return samples

    account = f"{ids[0]}"
    pages = [
        ("dashboard", "/admin/", "/stock/"),
        ("dashboard cold", "/admin/", "/stock/"),
        ("account list", "/admin/accounts/telegramaccount/", "/stock/accounts/telegramaccount/"),
        ("account page", f"/admin/accounts/telegramaccount/{account}/change/",
         f"/stock/accounts/telegramaccount/{account}/change/"),
    ]  # fmt: skip
    print(f"{'page':<15} {'user':<9} {'ours p50':>9} {'ours p95':>9} {'stock p50':>10} {'stock p95':>10} {'ratio':>6}")
    with override_settings(ROOT_URLCONF="bench.console_urls"):
        for name, ours_url, stock_url in pages:
            for who, user in (("admin", admin), ("operator", operator)):
                ours, stock = [], []
                for _ in range(2):  # interleaved halves: drift hits both alike
                    ours += timed(user, ours_url, cold=name.endswith("cold"))
                    stock += timed(user, stock_url)
                ratio = statistics.median(ours) / statistics.median(stock)
                print(f"{name:<15} {who:<9} {statistics.median(ours) * 1000:>7.1f}ms {p95(ours) * 1000:>7.1f}ms "
                      f"{statistics.median(stock) * 1000:>8.1f}ms {p95(stock) * 1000:>8.1f}ms {ratio:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
