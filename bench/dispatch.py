"""Dispatch benchmark: one beat tick of `accounts.checks_dispatch` at N accounts, on PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tgfleet_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/dispatch.py [--accounts 100000]

Two ticks: steady (accounts spread over the 15-minute interval as checks leave them, one minute's worth due) and
after an outage (every account due: the tick takes CHECK_DISPATCH_LIMIT). Ours is the beat task itself (select,
mark, queue the batches on the broker); the baseline, in the same run, is the least any dispatcher does: the same
SELECT and UPDATE as plain SQL on one cursor and the same number of messages of the same size pushed to Redis.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import django_on_postgres  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    django_on_postgres("/tmp/tgfleet-bench-dispatch")
    import redis
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.checks.status import account_phase
    from accounts.models import TelegramAccount
    from accounts.tasks import checks_dispatch_task

    with connection.cursor() as cursor:  # a clean slate: this database is the benchmark's
        cursor.execute("TRUNCATE accounts_telegramaccount CASCADE")
    TelegramAccount.objects.bulk_create(
        [TelegramAccount(label=f"acc{i:06}", dc_id=2, source_format="telethon_sqlite", vault_name=f"d{i}.tgs",
                         auth_key_sha256=f"{i:064x}") for i in range(args.accounts)],
        batch_size=5000,
    )  # fmt: skip
    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True))
    interval = settings.CHECK_INTERVAL_SECONDS
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    table = TelegramAccount._meta.db_table

    def spread(now: dt.datetime, *, all_due: bool) -> None:
        """next_check_at as checks leave it: each account at its phase slot in the interval (or all in the past)."""
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET lease_expires_at = NULL, lease_owner = ''")  # noqa: S608
            rows = [(pk, now - dt.timedelta(seconds=1) if all_due else
                     now + dt.timedelta(seconds=account_phase(pk, interval) - 60)) for pk in ids]  # fmt: skip
            cursor.execute(f"UPDATE {table} t SET next_check_at = v.at FROM unnest(%s::bigint[], %s::timestamptz[]) "  # noqa: S608
                           "AS v(id, at) WHERE t.id = v.id", [[r[0] for r in rows], [r[1] for r in rows]])  # fmt: skip
            cursor.execute(f"ANALYZE {table}")
        broker.flushdb()

    def ours(now: dt.datetime) -> tuple[float, int]:
        start = time.perf_counter()
        queued = checks_dispatch_task()
        return time.perf_counter() - start, queued

    def baseline(_spread_at: dt.datetime) -> tuple[float, int]:
        start, now = time.perf_counter(), timezone.now()  # as the task does: due by the time it runs
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE next_check_at <= %s ORDER BY next_check_at, id LIMIT %s",  # noqa: S608
                           [now, settings.CHECK_DISPATCH_LIMIT])  # fmt: skip
            due = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"UPDATE {table} SET next_check_at = %s WHERE id = ANY(%s)",  # noqa: S608
                           [now + dt.timedelta(seconds=300), due])  # fmt: skip
        size = settings.CHECK_BATCH_SIZE
        for i in range(0, len(due), size):
            broker.lpush("baseline", json.dumps([due[i : i + size], now.isoformat()]))
        return time.perf_counter() - start, len(due)

    print(f"dispatch benchmark, {args.accounts:,} accounts, PostgreSQL, {os.cpu_count()} cores, "
          f"CHECK_DISPATCH_LIMIT {settings.CHECK_DISPATCH_LIMIT}, batches of {settings.CHECK_BATCH_SIZE}")  # fmt: skip
    print("fair: the baseline runs the same SELECT and UPDATE as plain SQL and pushes as many messages of the same "
          "size to the same Redis; ours is the beat task, through the ORM and Celery")  # fmt: skip
    for name, all_due in (("steady tick", False), ("after outage", True)):
        samples: dict[str, list[float]] = {"ours": [], "baseline": []}
        counts = {}
        for _ in range(args.rounds):
            for who, fn in (("ours", ours), ("baseline", baseline)):
                now = timezone.now()
                spread(now, all_due=all_due)
                took, counts[who] = fn(now)
                samples[who].append(took)
        o, b = statistics.median(samples["ours"]), statistics.median(samples["baseline"])
        print(f"{name:<13} ours {o * 1000:7.1f} ms ({counts['ours']:>6} queued)  baseline {b * 1000:7.1f} ms "
              f"({counts['baseline']:>6})  ratio {o / b:5.2f}  target <= 2 s: {'met' if o <= 2 else 'MISSED'}")  # fmt: skip
    broker.flushdb()


if __name__ == "__main__":
    main()
