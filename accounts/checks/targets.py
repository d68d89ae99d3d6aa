"""What a check batch reads and writes of each account: the row's check columns as a plain object.

A batch of 250 accounts built as model instances cost a worker more than every other read of the batch (Django's
`from_db` and `__init__` for each row: about three times the query's own cost); a check needs ten columns, and the
alert hooks, which need whole accounts, load them only for the batch's status changes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection

from accounts.models import Proxy, TelegramAccount
from project.bound_sql import bound_execute

READ_FIELDS = ("pk", "status", "consecutive_failures", "check_interval_seconds", "team_id", "proxy_id", "vault_name",
               "device", "api_id", "telegram_user_id")  # fmt: skip


@dataclass(slots=True, eq=False)
class CheckTarget:
    pk: int
    status: str
    consecutive_failures: int
    check_interval_seconds: int | None
    team_id: int | None
    proxy_id: int | None
    vault_name: str
    device: dict
    api_id: int | None
    telegram_user_id: int | None
    proxy: Proxy | None = None
    # What the check writes (status_rows_write reads them from here):
    next_check_at: dt.datetime | None = None
    last_checked_at: dt.datetime | None = None
    last_outcome: str = ""
    flood_wait_until: dt.datetime | None = None
    lease_owner: str = ""
    lease_expires_at: dt.datetime | None = None


TARGET_COLUMNS = ", ".join("id" if name == "pk" else name for name in READ_FIELDS)


def check_targets(ids: list[int], *, owner: str) -> list[CheckTarget]:
    """The accounts of ``ids`` that ``owner`` leases, in id order, each with its proxy (one query for the batch's
    proxies, none without). On PostgreSQL the ids go as one array bound by the server: Django's ``pk__in`` quotes
    each of 250 ids into the statement on the client, which cost five times the rows' own reading."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(TelegramAccount._meta.db_table)
        rows = bound_execute(f"SELECT {TARGET_COLUMNS} FROM {table} "  # noqa: S608 (our table, our columns)
                             "WHERE id = ANY(%b::bigint[]) AND lease_owner = %s", [ids, owner])  # fmt: skip
    else:
        rows = TelegramAccount.objects.filter(pk__in=ids, lease_owner=owner).values_list(*READ_FIELDS)
    return targets_from_rows(rows)


def targets_from_rows(rows) -> list[CheckTarget]:
    """Rows of READ_FIELDS (TARGET_COLUMNS) as targets, in id order, each with its proxy."""
    targets = sorted((CheckTarget(*row) for row in rows), key=lambda target: target.pk)
    devices: dict[str, dict] = {}  # jsonb comes as text from PostgreSQL (as Django's cursors read it); few devices
    for target in targets:
        if isinstance(target.device, str):
            if target.device not in devices:
                devices[target.device] = json.loads(target.device)
            target.device = devices[target.device]
    proxy_ids = {t.proxy_id for t in targets if t.proxy_id is not None}
    if proxy_ids:
        proxies = Proxy.objects.in_bulk(proxy_ids)
        for target in targets:
            if target.proxy_id is not None:
                target.proxy = proxies.get(target.proxy_id)
    return targets
