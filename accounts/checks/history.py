"""Check history that stays small at 100,000 accounts: each check's own record for a while (successes briefly,
failures long), and per hour, team and outcome a count and summed latency (CheckHour) that the fleet chart reads.

Growth per day is then the failures of the day plus a few rows per hour and team, not one row per check."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts.models import CheckHour, CheckRecord
from project.bound_sql import bound_execute

OK = "ok"


def hour_of(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


class Checked(NamedTuple):
    """One check's record as a batch writes it (a CheckRecord's columns, without building the model)."""

    account_id: int
    at: dt.datetime
    outcome: str
    detail: str
    latency_ms: int


def check_records_write(rows: list[Checked]) -> None:
    """A batch's records in one statement: on PostgreSQL an INSERT ... SELECT FROM unnest(arrays) bound by the
    server; elsewhere bulk_create."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        CheckRecord.objects.bulk_create([CheckRecord(**row._asdict()) for row in rows], batch_size=1000)
        return
    table = connection.ops.quote_name(CheckRecord._meta.db_table)
    bound_execute(
        f"INSERT INTO {table} (account_id, at, outcome, detail, latency_ms) "  # noqa: S608 (our table)
        "SELECT * FROM unnest(%b::bigint[], %b::timestamptz[], %b::varchar[], %b::varchar[], %b::integer[])",
        [list(column) for column in zip(*rows, strict=True)],
    )


def check_hours_add(records: list[Checked], teams: dict[int, int | None]) -> None:
    """Add a batch's checks to their hours' counts in one statement (inside the batch's transaction). ``teams``
    maps each record's account id to its team id. Rows go in one order, so concurrent batches cannot deadlock."""
    counts: Counter = Counter()
    latency: Counter = Counter()
    hours: dict[dt.datetime, dt.datetime] = {}  # a batch's records share one time
    for record in records:
        if record.at not in hours:
            hours[record.at] = hour_of(record.at)
        key = (hours[record.at], teams.get(record.account_id) or 0, record.outcome)
        counts[key] += 1
        latency[key] += record.latency_ms
    if not counts:
        return
    table = connection.ops.quote_name(CheckHour._meta.db_table)
    rows = sorted(counts)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params = [p for key in rows for p in (*_sql_hour(key[0]), key[1], key[2], counts[key], latency[key])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (hour, team_ref, outcome, count, latency_sum) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (hour, team_ref, outcome) DO UPDATE SET count = {table}.count + excluded.count, "
            f"latency_sum = {table}.latency_sum + excluded.latency_sum",
            params,
        )


def _sql_hour(hour: dt.datetime) -> tuple:
    field = CheckHour._meta.get_field("hour")
    return (field.get_db_prep_value(hour, connection),)


def hourly_counts(
    first: dt.datetime, *, team_ids: list[int] | None, also_accounts=None
) -> dict[dt.datetime, tuple[dict[str, int], int]]:
    """(counts by outcome, latency sum) per hour from ``first`` on: every team's, or only ``team_ids``', plus the
    own records of ``also_accounts`` (a queryset of accounts outside those teams; their successes are kept longer
    than a day, so the last day is whole)."""
    rows = CheckHour.objects.filter(hour__gte=first)
    if team_ids is not None:
        rows = rows.filter(team_ref__in=team_ids)
    per_hour: dict[dt.datetime, tuple[dict[str, int], int]] = {}
    _add(per_hour, rows.values("hour", "outcome").annotate(n=Sum("count"), latency=Sum("latency_sum")))
    if also_accounts is not None:
        records = CheckRecord.objects.filter(at__gte=first, account__in=also_accounts)
        _add(per_hour, records.annotate(hour=TruncHour("at", tzinfo=dt.UTC)).values("hour", "outcome")
             .annotate(n=Count("pk"), latency=Sum("latency_ms")))  # fmt: skip
    return per_hour


def _add(per_hour: dict, rows) -> None:
    for row in rows.order_by():
        counts, latency_sum = per_hour.get(row["hour"], ({}, 0))
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + row["n"]
        per_hour[row["hour"]] = (counts, latency_sum + (row["latency"] or 0))


def checks_prune(*, now: dt.datetime | None = None) -> int:
    """Successes' records after CHECK_HISTORY_OK_HOURS; everything else, and the hourly counts, after
    CHECK_HISTORY_DAYS."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.CHECK_HISTORY_DAYS)
    ok_cutoff = now - dt.timedelta(hours=settings.CHECK_HISTORY_OK_HOURS)
    deleted = CheckRecord.objects.filter(at__lt=ok_cutoff, outcome=OK).delete()[0]
    deleted += CheckRecord.objects.filter(at__lt=cutoff).delete()[0]
    CheckHour.objects.filter(hour__lt=hour_of(cutoff)).delete()
    return deleted
