"""Checks through the database: statuses, transitions, the hook, leases, the API and the command."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import CheckRecord, StatusTransition, TelegramAccount
from accounts.services import CheckBusyError, account_check, session_import
from accounts.services.check_jobs import check_job_batch_run, check_job_create
from accounts.services.checks import checks_dispatch, checks_run, leases_claim
from accounts.sessions import InputFile
from accounts.signals import account_status_changed
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.jobs import job_run_as_worker
from tests.mtproto_dc import Behaviour
from tests.mtproto_dc.server import OK

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _account(dc, behaviour=OK, team=None) -> tuple[TelegramAccount, bytes]:
    key = make.random_key()
    dc.add_key(key, behaviour)
    files = [InputFile("acc.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    report = session_import(actor=SYSTEM, files=files, team=team)
    return TelegramAccount.objects.get(pk=report.outcomes[0].account_id), key


@pytest.fixture
def hook_calls():
    calls = []

    def receiver(sender, account, old_status, new_status, reason, **kwargs):
        calls.append((account.pk, old_status, new_status))

    account_status_changed.connect(receiver, dispatch_uid="test-hook")
    yield calls
    account_status_changed.disconnect(dispatch_uid="test-hook")


def test_a_check_moves_an_account_through_its_statuses(
    vault, telegram_dc, hook_calls, django_capture_on_commit_callbacks
) -> None:
    account, key = _account(telegram_dc)
    statuses = []
    for behaviour in (OK, Behaviour.error(401, "SESSION_REVOKED"), OK):
        telegram_dc.script(key, behaviour)
        with django_capture_on_commit_callbacks(execute=True):
            statuses.append(account_check(actor=SYSTEM, account=account).status)

    assert statuses == ["ok", "unauthorized", "ok"]
    transitions = StatusTransition.objects.filter(account=account).order_by("at", "pk")
    assert list(transitions.values_list("from_status", "to_status")) == [
        ("unchecked", "ok"),
        ("ok", "unauthorized"),
        ("unauthorized", "ok"),
    ]
    assert hook_calls == [
        (account.pk, "unchecked", "ok"),
        (account.pk, "ok", "unauthorized"),
        (account.pk, "unauthorized", "ok"),
    ]
    assert CheckRecord.objects.filter(account=account).count() == 3
    account.refresh_from_db()
    assert (account.lease_owner, account.telegram_user_id) == ("", 100_000)


def test_a_leased_account_is_not_checked_twice(vault, telegram_dc, superuser) -> None:
    account, key = _account(telegram_dc)
    assert leases_claim([account.pk], owner="elsewhere") == [account.pk]
    held_until = TelegramAccount.objects.get(pk=account.pk).lease_expires_at

    with pytest.raises(CheckBusyError, match="being checked elsewhere"):
        account_check(actor=SYSTEM, account=account)
    job = check_job_create(actor=superuser, accounts=[account])
    check_job_batch_run(str(job.pk), job.account_ids)

    account.refresh_from_db()
    assert (account.lease_owner, account.lease_expires_at, account.last_checked_at) == ("elsewhere", held_until, None)
    assert telegram_dc.stats(key).connections == 0
    job.refresh_from_db()
    assert (job.state, [r["result"] for r in job.results]) == ("done", ["busy"])


def test_the_dispatcher_picks_due_accounts_and_not_again_while_queued(vault, telegram_dc, settings) -> None:
    settings.CHECK_BATCH_SIZE = 2
    accounts = [_account(telegram_dc)[0] for _ in range(5)]
    account_check(actor=SYSTEM, account=accounts[0])  # checked: not due for a while

    first = checks_dispatch()
    second = checks_dispatch()

    assert sorted(pk for batch in first for pk in batch) == sorted(a.pk for a in accounts[1:])
    assert [len(batch) for batch in first] == [2, 2]
    assert second == []


def test_a_dispatched_account_is_marked_with_the_slot_its_success_gives_it_and_its_result_moves_no_index(
    vault, telegram_dc, settings
) -> None:
    """The dispatcher marks each account with the time a healthy check will set (its own slot, at least the lease
    time away), so writing a steady check's result changes no indexed column: on PostgreSQL every row of the batch
    is updated in place (HOT), no index grows by a check."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from accounts.checks.status import regular_slot

    settings.CHECK_INTERVAL_SECONDS = 86_400  # a day: no slot boundary falls between the dispatch and the check
    default, own = _account(telegram_dc)[0], _account(telegram_dc)[0]
    TelegramAccount.objects.filter(pk=own.pk).update(check_interval_seconds=43_200)
    ids = sorted([default.pk, own.pk])
    checks_run(leases_claim(ids, owner="first"), owner="first")  # unchecked -> ok, the status index moves once
    TelegramAccount.objects.filter(pk__in=ids).update(next_check_at=timezone.now())  # both due again

    def hot_updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                           "WHERE relname = 'accounts_telegramaccount'")  # fmt: skip
            return cursor.fetchone()

    now = timezone.now()
    assert checks_dispatch(now=now) == [ids]
    marks = dict(TelegramAccount.objects.values_list("pk", "next_check_at"))
    assert marks == {default.pk: regular_slot(default.pk, 86_400, now), own.pk: regular_slot(own.pk, 43_200, now)}
    assert all(mark >= now + dt.timedelta(seconds=settings.CHECK_LEASE_SECONDS) for mark in marks.values())
    before = hot_updates() if connection.vendor == "postgresql" else None

    done = checks_run(leases_claim(ids, owner="steady"), owner="steady")

    assert [(d.previous_status, d.status) for d in done] == [("ok", "ok"), ("ok", "ok")]
    assert dict(TelegramAccount.objects.values_list("pk", "next_check_at")) == marks
    if before is not None:  # the lease claim and the result: four row updates, all in place
        updates, hot = (after - first for after, first in zip(hot_updates(), before, strict=True))
        assert (updates, hot) == (4, 4)


def test_the_dispatcher_hands_each_chunk_to_the_queue_once_it_is_marked(db, settings) -> None:
    import uuid

    settings.CHECK_BATCH_SIZE, settings.CHECK_DISPATCH_LIMIT = 500, 10_000
    rows = [TelegramAccount(label=f"a{i}", dc_id=2, source_format="telethon_string", auth_key_sha256=uuid.uuid4().hex,
                            vault_name=TelegramAccount.new_vault_name()) for i in range(1001)]  # fmt: skip
    TelegramAccount.objects.bulk_create(rows)
    handed: list[tuple[list[int], int]] = []

    def queue(batches: list[list[int]]) -> None:
        ids = [pk for batch in batches for pk in batch]
        still_due = TelegramAccount.objects.filter(pk__in=ids, next_check_at__isnull=True).count()
        handed.append(([len(batch) for batch in batches], still_due))

    batches = checks_dispatch(queue=queue)

    assert handed == [([500, 500], 0), ([1], 0)]  # a thousand a statement, queued once marked
    assert sorted(pk for batch in batches for pk in batch) == sorted(
        TelegramAccount.objects.values_list("pk", flat=True)
    )
    assert checks_dispatch(queue=queue) == [] and len(handed) == 2


def test_the_api_checks_now_with_permission_on_a_worker(vault, telegram_dc, operator, viewer, blue_team,
                                                       settings) -> None:  # fmt: skip
    settings.CHECK_NOW_WAIT_SECONDS = 0  # no worker here: answer with the job at once, then work it as one would
    account, key = _account(telegram_dc, Behaviour.error(420, "FLOOD_WAIT_120"), team=blue_team)
    client = APIClient()
    client.force_authenticate(operator)

    response = client.post(f"/api/v1/accounts/{account.pk}/check")
    assert telegram_dc.stats(key).requests.get("GetUsersRequest", 0) == 0  # nothing dialled inside the request
    job = job_run_as_worker(client, response)
    viewer_client = APIClient()
    viewer_client.force_authenticate(viewer)
    refused = viewer_client.post(f"/api/v1/accounts/{account.pk}/check")

    assert (job["kind"], job["state"], job["summary"]) == ("check", "done", {"flood_wait": 1})
    [item] = job["results"]
    assert (item["account_id"], item["result"]) == (account.pk, "flood_wait") and "flood_wait" in item["reason"]
    assert TelegramAccount.objects.get(pk=account.pk).status == "flood_wait"
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="account.check", outcome="allowed", actor_name="operator").count() == 1
    assert AuditEvent.objects.filter(action="account.check", outcome="denied", actor_name="viewer").count() == 1


def test_check_accounts_prints_each_outcome_and_status(vault, telegram_dc, capsys) -> None:
    good, _ = _account(telegram_dc)
    banned, _ = _account(telegram_dc, Behaviour.error(401, "USER_DEACTIVATED_BAN"))

    call_command("check_accounts", "--all")
    out = capsys.readouterr().out

    assert f"{good.pk} {good.label}: ok in " in out and "status unchecked -> ok" in out
    assert f"{banned.pk} {banned.label}: banned (401 USER_DEACTIVATED_BAN)" in out and "unchecked -> banned" in out


def test_a_batch_whose_results_cannot_be_written_releases_every_lease_it_claimed(vault, telegram_dc) -> None:
    """The batch task claims, checks and writes; the write releases each lease with its result. When the database
    refuses the write (here a trigger on the check records), the task fails and still leaves no lease behind, so
    the accounts come round again at once rather than after CHECK_LEASE_SECONDS."""
    from django.db import DatabaseError, connection
    from django.utils import timezone

    from accounts.tasks import checks_batch_task

    ids = [_account(telegram_dc)[0].pk for _ in range(3)]
    table = CheckRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                           "LANGUAGE plpgsql")  # fmt: skip
            cursor.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} EXECUTE FUNCTION refuse()")
        else:
            cursor.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'refused'); END")

    with pytest.raises(DatabaseError, match="refused"):
        checks_batch_task.apply(args=(ids, timezone.now().isoformat()), throw=True)

    leases = TelegramAccount.objects.filter(pk__in=ids).values_list("lease_owner", "lease_expires_at")
    assert set(leases) == {("", None)}
    assert not CheckRecord.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"), [([], "give account ids or --all"), (["999999"], "no account with id 999999")]
)
def test_check_accounts_refuses_bad_arguments(db, args, message) -> None:
    with pytest.raises(Exception, match=message):
        call_command("check_accounts", *args)


def test_an_account_without_an_api_id_is_its_own_error_and_not_its_batchs(vault, telegram_dc, settings) -> None:
    settings.TELEGRAM_API_ID = None
    broken, _ = _account(telegram_dc)
    TelegramAccount.objects.filter(pk=broken.pk).update(api_id=None)  # a row from before identities were pinned
    key = make.random_key()
    telegram_dc.add_key(key, OK)
    files = [InputFile("fine.txt", make.telethon_string(key=key, address="127.0.0.1").encode()),
             InputFile("fine.json", b'{"app_id": 12345}')]  # fmt: skip
    fine = TelegramAccount.objects.get(pk=session_import(actor=SYSTEM, files=files).outcomes[0].account_id)

    done = {d.account_id: d for d in checks_run(leases_claim([broken.pk, fine.pk], owner="t"), owner="t")}

    assert done[broken.pk].result.outcome == "error"
    assert done[broken.pk].result.detail == "no API id for this account: set TELEGRAM_API_ID or import its JSON sidecar"
    assert (done[broken.pk].status, done[fine.pk].result.outcome) == ("unchecked", "ok")
    assert not TelegramAccount.objects.exclude(lease_owner="").exists()
    assert CheckRecord.objects.get(account=broken).outcome == "error"


def test_the_network_monitor_measures_each_endpoint(vault, telegram_dc) -> None:
    from accounts.telegram.monitor import endpoints_probe

    assert endpoints_probe(timeout=2) == [] and telegram_dc.peers == []  # no accounts: nothing to reach
    _account(telegram_dc)

    [probe] = endpoints_probe(timeout=2)

    assert probe.reachable and probe.latency_ms is not None
    assert probe.endpoint == f"127.0.0.1:{telegram_dc.port}"


def test_the_network_monitor_reports_an_unreachable_endpoint(vault, settings, server_rsa_pem) -> None:
    import socket

    from accounts.telegram.monitor import endpoints_probe

    session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.TELEGRAM_SERVER_ADDRESS = ("127.0.0.1", sock.getsockname()[1])
        settings.TELEGRAM_SERVER_RSA_KEY = server_rsa_pem
        [probe] = endpoints_probe(timeout=2)

    assert not probe.reachable and probe.error


def test_a_malformed_server_address_names_the_variable(tmp_path) -> None:
    from tests.processes import clean_env, manage

    result = manage("check", env=clean_env(DATA_DIR=str(tmp_path), TELEGRAM_SERVER_ADDRESS="nowhere"))

    assert result.returncode != 0 and "TELEGRAM_SERVER_ADDRESS must be host:port" in result.stderr


def test_a_server_address_without_its_key_is_refused(tmp_path) -> None:
    from tests.processes import clean_env, manage

    result = manage("check", env=clean_env(DATA_DIR=str(tmp_path), TELEGRAM_SERVER_ADDRESS="127.0.0.1:4430"))

    assert result.returncode != 0 and "needs TELEGRAM_SERVER_RSA_KEY_FILE" in result.stderr


def test_check_history_keeps_successes_briefly_failures_and_hourly_counts_for_its_days(
    vault, telegram_dc, settings
) -> None:
    import datetime as dt

    from django.utils import timezone

    from accounts.checks.history import checks_prune
    from accounts.models import CheckHour

    settings.CHECK_HISTORY_DAYS, settings.CHECK_HISTORY_OK_HOURS = 30, 48
    account, _ = _account(telegram_dc)
    account_check(actor=SYSTEM, account=account)  # a real one: its record and its hour's count
    now = timezone.now()
    for hours, outcome in ((47, "ok"), (49, "ok"), (49, "network"), (31 * 24, "revoked")):
        CheckRecord.objects.create(account=account, at=now - dt.timedelta(hours=hours), outcome=outcome)
    CheckHour.objects.create(hour=now - dt.timedelta(days=31), team_ref=0, outcome="ok", count=5)

    assert checks_prune() == 2
    kept = sorted(CheckRecord.objects.filter(account=account).values_list("outcome", flat=True))
    assert kept == ["network", "ok", "ok"]
    assert list(CheckHour.objects.values_list("outcome", "count")) == [("ok", 1)]


def test_status_rows_are_written_field_by_field_with_nulls_in_one_statement(vault) -> None:
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.services.checks import status_rows_write

    files = [InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(3)]
    session_import(actor=SYSTEM, files=files)
    a, b, c = TelegramAccount.objects.order_by("pk")
    now = timezone.now()
    a.status, a.next_check_at, a.last_checked_at, a.last_outcome = "flood_wait", now + dt.timedelta(hours=1), now, "x"
    a.consecutive_failures, a.flood_wait_until, a.telegram_user_id = 3, now + dt.timedelta(minutes=5), 2**40
    b.status, b.next_check_at, b.last_checked_at, b.last_outcome = "ok", now, now, "ok"
    c.status, c.last_outcome = "unauthorized", "revoked"
    TelegramAccount.objects.filter(pk__in=[a.pk, c.pk]).update(lease_owner="batch:x", lease_expires_at=now)
    a.lease_owner, a.lease_expires_at = "", None  # a's lease is released with its result; c's is kept
    c.lease_owner, c.lease_expires_at = "batch:x", now
    with CaptureQueriesContext(connection) as queries:
        status_rows_write([a, b, c])
    if connection.vendor == "postgresql":  # one UPDATE ... FROM unnest (elsewhere Django's bulk_update)
        assert len(queries) == 1 and "unnest" in queries[0]["sql"]
    fields = ["status", "next_check_at", "last_checked_at", "last_outcome", "consecutive_failures",
              "flood_wait_until", "telegram_user_id", "lease_owner", "lease_expires_at"]  # fmt: skip
    for expected in (a, b, c):
        got = TelegramAccount.objects.get(pk=expected.pk)
        assert [getattr(got, f) for f in fields] == [getattr(expected, f) for f in fields]

    # A batch writes only the rows it still leases: c's lease is another's now, so c stays as it was.
    TelegramAccount.objects.filter(pk=c.pk).update(lease_owner="batch:y")
    a.lease_owner = b.lease_owner = c.lease_owner = ""
    a.status = b.status = c.status = "banned"
    TelegramAccount.objects.filter(pk__in=[a.pk, b.pk]).update(lease_owner="batch:x")
    assert status_rows_write([a, b, c], owner="batch:x") == {a.pk, b.pk}
    statuses = dict(TelegramAccount.objects.values_list("pk", "status"))
    assert [statuses[a.pk], statuses[b.pk], statuses[c.pk]] == ["banned", "banned", "unauthorized"]
    assert TelegramAccount.objects.get(pk=c.pk).lease_owner == "batch:y"


def test_a_batch_costs_the_same_queries_for_one_account_as_for_many(vault, telegram_dc) -> None:
    """No query per account (a field the batch leaves out of its SELECT read later would be one)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 4):
        ids = [_account(telegram_dc)[0].pk for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            done = checks_run(leases_claim(ids, owner=f"t{n}"), owner=f"t{n}")  # first check: every status changes
        assert [d.status for d in done] == ["ok"] * n
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_lease_is_claimed_only_where_free_and_not_checked_since_and_kept_by_its_owner(vault) -> None:
    import datetime as dt

    from django.utils import timezone

    from accounts.services.checks import leases_release

    session_import(actor=SYSTEM, files=[InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode())
                                        for i in range(5)])  # fmt: skip
    free, expired, other, mine, checked = TelegramAccount.objects.order_by("pk")
    now = timezone.now()
    TelegramAccount.objects.filter(pk=expired.pk).update(lease_owner="gone", lease_expires_at=now - dt.timedelta(1))
    TelegramAccount.objects.filter(pk=other.pk).update(lease_owner="other", lease_expires_at=now + dt.timedelta(1))
    TelegramAccount.objects.filter(pk=mine.pk).update(lease_owner="me", lease_expires_at=now + dt.timedelta(1))
    TelegramAccount.objects.filter(pk=checked.pk).update(last_checked_at=now)
    ids = [free.pk, expired.pk, other.pk, mine.pk, checked.pk, 10**12]

    claimed = leases_claim(ids, owner="me", not_checked_since=now - dt.timedelta(seconds=1))

    assert sorted(claimed) == [free.pk, expired.pk, mine.pk]
    owners = dict(TelegramAccount.objects.values_list("pk", "lease_owner"))
    assert [owners[a.pk] for a in (free, expired, other, mine, checked)] == ["me", "me", "other", "me", ""]
    assert sorted(leases_claim(ids, owner="me")) == [free.pk, expired.pk, mine.pk, checked.pk]
    leases_release(ids, owner="me")
    assert dict(TelegramAccount.objects.exclude(lease_owner="").values_list("pk", "lease_owner")) == {other.pk: "other"}


def test_a_claim_that_returns_what_the_checks_read_claims_as_leases_claim_and_reads_as_check_targets(vault) -> None:
    """targets_claim (the batch's one statement on PostgreSQL) leases exactly what leases_claim would, and gives the
    same targets, in id order, as reading them after the claim (check_targets)."""
    import dataclasses
    import datetime as dt

    from django.utils import timezone

    from accounts.checks.targets import check_targets
    from accounts.services.checks import targets_claim

    session_import(actor=SYSTEM, files=[InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode())
                                        for i in range(4)])  # fmt: skip
    free, other, checked, devised = TelegramAccount.objects.order_by("pk")
    now = timezone.now()
    TelegramAccount.objects.filter(pk=other.pk).update(lease_owner="other", lease_expires_at=now + dt.timedelta(1))
    TelegramAccount.objects.filter(pk=checked.pk).update(last_checked_at=now)
    TelegramAccount.objects.filter(pk=devised.pk).update(device={"device": "Pixel 7", "app_version": "10.2"},
                                                         api_id=2040, check_interval_seconds=600)  # fmt: skip
    ids = [devised.pk, checked.pk, other.pk, free.pk, 10**12]

    targets = targets_claim(ids, owner="me", not_checked_since=now - dt.timedelta(seconds=1))

    assert [t.pk for t in targets] == [free.pk, devised.pk]
    owners = dict(TelegramAccount.objects.values_list("pk", "lease_owner"))
    assert [owners[a.pk] for a in (free, other, checked, devised)] == ["me", "other", "", "me"]
    assert [dataclasses.astuple(t) for t in targets] == [dataclasses.astuple(t) for t in check_targets(ids, owner="me")]
    assert targets[1].device == {"device": "Pixel 7", "app_version": "10.2"} and targets[1].api_id == 2040


def test_check_records_are_written_column_by_column_in_one_statement(vault) -> None:
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.checks.history import Checked, check_records_write

    session_import(actor=SYSTEM, files=[InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode())
                                        for i in range(2)])  # fmt: skip
    a, b = TelegramAccount.objects.order_by("pk")
    now = timezone.now()
    rows = [Checked(a.pk, now, "ok", "", 12), Checked(b.pk, now - dt.timedelta(seconds=1), "network", "é" * 200, 0)]
    with CaptureQueriesContext(connection) as queries:
        check_records_write(rows)
    if connection.vendor == "postgresql":
        assert len(queries) == 1 and "unnest" in queries[0]["sql"]
    got = CheckRecord.objects.order_by("account_id").values_list("account_id", "at", "outcome", "detail", "latency_ms")
    assert [Checked(*row) for row in got] == rows


def test_on_postgresql_the_accounts_table_leaves_room_for_lease_updates_on_their_page(db) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("fillfactor is a PostgreSQL storage parameter (migration 0016 does nothing elsewhere)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'accounts_telegramaccount'")
        assert cursor.fetchone()[0] == ["fillfactor=80"]


def test_a_batch_s_writes_reach_its_rows_by_primary_key_in_a_small_fleet_too(db) -> None:
    """A batch's results and the dispatcher's marks cost a batch's size of work at any fleet size: no sequential
    scan of the accounts table. (Compared with a constant lease owner, PostgreSQL took a batch's rows to be one,
    and in a fleet below about 20,000 it read the whole table, then the batch's 250 values again for each row.)
    Only the rows the owner still leases are written (on every database; the scans are PostgreSQL's to count)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from accounts.checks.targets import check_targets
    from accounts.services.checks import dispatch_marks_write, status_rows_write

    TelegramAccount.objects.bulk_create(
        [TelegramAccount(label=f"a{i}", dc_id=2, source_format="telethon_string", vault_name=f"v{i}",
                         auth_key_sha256=f"{i:064x}") for i in range(4000)], batch_size=1000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_telegramaccount")
    ids = list(TelegramAccount.objects.order_by("pk").values_list("pk", flat=True)[:250])
    assert sorted(leases_claim(ids, owner="mine")) == ids
    TelegramAccount.objects.filter(pk=ids[0]).update(lease_owner="another")  # taken over meanwhile
    targets = check_targets(ids, owner="mine")
    now = timezone.now()
    for target in targets:
        target.status, target.last_checked_at, target.next_check_at = "ok", now, now + dt.timedelta(hours=1)

    def sequential_scans() -> int | None:  # elsewhere these writes are Django's bulk_update, with no such count
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'accounts_telegramaccount'")
            return cursor.fetchone()[0]

    before = sequential_scans()
    written = status_rows_write(targets, owner="mine")
    dispatch_marks_write(ids, [now] * len(ids))

    assert sequential_scans() == before
    assert written == set(ids[1:])
    rows = TelegramAccount.objects.filter(pk__in=ids)
    assert set(rows.filter(status="ok", lease_owner="").values_list("pk", flat=True)) == set(ids[1:])
    assert rows.get(pk=ids[0]).lease_owner == "another" and rows.filter(next_check_at=now).count() == 250
