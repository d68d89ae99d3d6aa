"""The console's server side: charts escape what they draw, bulk checks queue, filters name bad values."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Job, TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from audit.models import AuditEvent
from conftest import SYSTEM
from project.console.charts import Bucket, Point, nice_max, scatter, stacked_bars
from tests import session_makers as make


def test_axis_tops_are_four_round_steps() -> None:
    assert [nice_max(v) for v in (0, 3, 5, 9, 41, 999)] == [4, 4, 8, 20, 80, 2000]


def test_charts_escape_series_names_and_labels() -> None:
    now = timezone.now()
    evil = '<script>alert("x")</script>'
    bars = stacked_bars([Bucket(now, {evil: 3}, 12.5)], {}, title=evil, unit="checks", line_unit="ms")
    dots = scatter([Point(now, 5, evil, evil)], {}, start=now - dt.timedelta(hours=1), end=now, title="t", unit="ms")

    for svg in (bars, dots):
        assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert bars.count("<rect ") == 1 and "<polyline" in bars
    assert dots.count("<circle ") == 1


@pytest.mark.django_db
def test_check_now_on_many_accounts_queues_a_job_in_batches_and_shows_its_progress(
    vault, admin_user, client, django_capture_on_commit_callbacks, settings
) -> None:
    settings.CHECK_BATCH_SIZE = 20
    files = [InputFile(f"a{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(25)]
    session_import(actor=SYSTEM, files=files)
    ids = list(TelegramAccount.objects.values_list("pk", flat=True))
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/admin/accounts/telegramaccount/", {"action": "check_now", "_selected_action": ids})
    job = Job.objects.get(kind="check")
    page = client.get(response["Location"])
    progress = client.get(response["Location"] + "?format=json").json()

    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert len(queued) == 2  # batches of 20 and 5, each one task
    assert sorted(job.account_ids) == sorted(ids) and job.state == "queued"
    assert "Checks of 25 account(s)" in page.content.decode() and "0/25" in page.content.decode()
    assert (progress["kind"], progress["processed"], progress["total"], progress["finished"]) == ("check", 0, 25, False)
    assert AuditEvent.objects.filter(action="account.check", details__queued=True).count() == 25
    assert not TelegramAccount.objects.filter(last_checked_at__isnull=False).exists()  # nothing in the request


@pytest.mark.django_db
def test_a_viewer_cannot_post_the_check_action(vault, viewer, blue_team, client) -> None:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    session_import(actor=SYSTEM, files=files, team=blue_team)
    client.force_login(viewer)

    response = client.post(
        "/admin/accounts/telegramaccount/",
        {"action": "check_now", "_selected_action": list(TelegramAccount.objects.values_list("pk", flat=True))},
        follow=True,
    )

    assert response.status_code == 200 and 'name="action"' not in response.content.decode()
    assert not AuditEvent.objects.filter(action="account.check").exists()


@pytest.mark.django_db
def test_a_bad_team_filter_is_refused(vault, admin_user, client) -> None:
    client.force_login(admin_user)
    response = client.get("/admin/accounts/telegramaccount/?team=blue")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.django_db(transaction=True)
def test_the_fleet_chart_counts_real_checks_by_team_at_a_cost_that_does_not_grow(
    vault, telegram_dc, admin_user, operator, blue_team, red_team
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from guardian.shortcuts import assign_perm

    from accounts.services import account_check
    from project.console.dashboard import dashboard_for

    def account_in(team) -> TelegramAccount:
        key = make.random_key()
        telegram_dc.add_key(key)
        files = [InputFile("a.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
        return TelegramAccount.objects.get(pk=session_import(actor=SYSTEM, files=files, team=team).outcomes[0]
                                           .account_id)  # fmt: skip

    blue, red, also_red = account_in(blue_team), account_in(red_team), account_in(red_team)
    for account in (blue, blue, red, also_red):
        account_check(actor=SYSTEM, account=account)

    def totals(user) -> dict[str, int]:
        with CaptureQueriesContext(connection) as queries:
            found = {item["outcome"]: item["count"] for item in dashboard_for(user)["check_totals"]}
        return found, len(queries.captured_queries)

    assert totals(admin_user)[0] == {"ok": 4}
    assert totals(operator)[0] == {"ok": 2}  # blue's only
    assign_perm("accounts.view_telegramaccount", operator, red)  # one red account, granted to them alone
    granted, cost = totals(operator)
    assert granted == {"ok": 3}
    for account in (blue, blue, blue, also_red):
        account_check(actor=SYSTEM, account=account)
    # The chart reads hourly counts: more checks add rows to no query's work and no query.
    assert totals(operator) == ({"ok": 6}, cost)
    assert totals(admin_user)[0] == {"ok": 8}


@pytest.mark.django_db
def test_alerts_about_other_teams_accounts_are_hidden(vault, admin_user, operator, blue_team, red_team) -> None:
    from alerts.models import Alert, Severity
    from alerts.services import alert_raise

    for label, team in (("blue-1", blue_team), ("red-1", red_team)):
        files = [InputFile(f"{label}.txt", make.telethon_string(key=make.random_key()).encode())]
        [outcome] = session_import(actor=SYSTEM, files=files, team=team).outcomes
        alert_raise(kind="account.banned", severity=Severity.CRITICAL, key=str(outcome.account_id), summary=label)
    alert_raise(kind="health.component", severity=Severity.CRITICAL, key="database", summary="database down")

    def summaries(user) -> set[str]:
        return set(Alert.objects.restrict(user).values_list("summary", flat=True))

    assert summaries(admin_user) == {"blue-1", "red-1", "database down"}
    assert summaries(operator) == {"blue-1", "database down"}


@pytest.mark.django_db
def test_the_csv_export_is_the_filtered_list_one_may_see_without_secrets_or_formulas(
    vault, operator, blue_team, red_team, client
) -> None:
    import csv
    import io

    for label, team in (('=HYPERLINK("http://evil")', blue_team), ("blue-2", blue_team), ("red-1", red_team)):
        session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())],
                       team=team)  # fmt: skip
        TelegramAccount.objects.filter(label="a").update(label=label)
    TelegramAccount.objects.filter(label="blue-2").update(status="banned")
    client.force_login(operator)

    page = client.get("/admin/accounts/telegramaccount/?status__exact=banned")
    every = client.get("/admin/accounts/telegramaccount/export.csv")
    banned = client.get("/admin/accounts/telegramaccount/export.csv?status__exact=banned")

    assert 'id="export-csv"' in page.content.decode() and "export.csv?status__exact=banned" in page.content.decode()
    rows = list(csv.DictReader(io.StringIO(b"".join(every.streaming_content).decode())))
    assert every["Content-Type"].startswith("text/csv") and "attachment" in every["Content-Disposition"]
    assert sorted(r["label"] for r in rows) == ['\'=HYPERLINK("http://evil")', "blue-2"]  # no red, no formula
    assert [r["label"] for r in csv.DictReader(io.StringIO(b"".join(banned.streaming_content).decode()))] == ["blue-2"]
    account = TelegramAccount.objects.get(label="blue-2")
    text = b"".join(client.get("/admin/accounts/telegramaccount/export.csv").streaming_content).decode()
    assert account.vault_name not in text and account.auth_key_sha256 not in text
    assert rows[0]["imported_from"] == "telethon_string" and rows[0]["team"] == "blue"
    exported = AuditEvent.objects.filter(action="account.list_export").order_by("sequence")
    assert [e.details["rows"] for e in exported] == [2, 1, 2]
    assert exported[1].details["filters"] == {"status__exact": "banned"}


@pytest.mark.django_db
def test_alerts_are_acknowledged_by_whom_and_when_audited_and_link_to_their_account(
    vault, operator, viewer, blue_team, red_team, client
) -> None:
    from alerts.models import Alert, Severity
    from alerts.services import alert_raise, alert_resolve, alerts_acknowledge

    ids = {}
    for label, team in (("blue-1", blue_team), ("red-1", red_team)):
        files = [InputFile(f"{label}.txt", make.telethon_string(key=make.random_key()).encode())]
        ids[label] = session_import(actor=SYSTEM, files=files, team=team).outcomes[0].account_id
        alert_raise(kind="account.banned", severity=Severity.CRITICAL, key=str(ids[label]), summary=label)
    blue, red = Alert.objects.get(summary="blue-1"), Alert.objects.get(summary="red-1")
    client.force_login(operator)

    listing = client.get("/admin/alerts/alert/").content.decode()
    client.post("/admin/alerts/alert/", {"action": "acknowledge", "_selected_action": [blue.pk]})
    assert alerts_acknowledge(actor=operator, alerts=[red]) == 0  # another team's: refused
    assert alerts_acknowledge(actor=viewer, alerts=[blue]) == 0  # a viewer may look, not acknowledge

    blue.refresh_from_db()
    assert f'href="/admin/accounts/telegramaccount/{ids["blue-1"]}/change/"' in listing
    assert blue.acknowledged_by == operator and blue.acknowledged_at is not None
    assert "operator, " in client.get("/admin/alerts/alert/").content.decode()
    assert Alert.objects.get(pk=red.pk).acknowledged_at is None
    assert (
        AuditEvent.objects.filter(action="alerts.acknowledge", outcome="allowed", target_id=str(blue.pk)).count() == 1
    )
    assert AuditEvent.objects.filter(action="alerts.acknowledge", outcome="denied").count() == 2

    alert_resolve(kind="account.banned", key=str(ids["blue-1"]))
    alert_raise(kind="account.banned", severity=Severity.CRITICAL, key=str(ids["blue-1"]), summary="again")
    assert Alert.objects.get(pk=blue.pk).acknowledged_at is None  # fired again: nobody is on it yet


@pytest.mark.django_db
def test_machinery_operators_never_open_waits_under_advanced_last(superuser, client) -> None:
    client.force_login(superuser)

    page = client.get("/admin/").content.decode()
    main, _, advanced = page.partition('<details id="advanced"')

    assert advanced and "Periodic tasks" in main and "Telegram accounts" in main
    for name in ("Access attempts", "Clocked", "Crontabs", "Intervals", "Solar events"):
        assert name in advanced and name not in main, name


@pytest.mark.django_db
def test_a_new_accounts_few_checks_spread_over_the_chart(vault, admin_user) -> None:
    import re

    from accounts.console import account_page
    from accounts.models import CheckRecord
    from project.console.charts import LEFT, PLOT_W

    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    account = TelegramAccount.objects.get(pk=session_import(actor=SYSTEM, files=files).outcomes[0].account_id)
    now = timezone.now()
    for minutes in (120, 90, 60, 30, 1):
        CheckRecord.objects.create(account=account, at=now - dt.timedelta(minutes=minutes), outcome="ok", latency_ms=80)

    chart = str(account_page(admin_user, account, now=now)["check_chart"])
    xs = [float(x) for x in re.findall(r'<circle cx="([0-9.]+)"', chart)]

    assert len(xs) == 5
    assert min(xs) < LEFT + 0.1 * PLOT_W and max(xs) > LEFT + 0.95 * PLOT_W  # edge to edge, not one huddle
    gaps = [b - a for a, b in zip(sorted(xs), sorted(xs)[1:], strict=False)]
    assert min(gaps) > PLOT_W / 10


@pytest.mark.django_db
def test_attention_lists_the_worst_first_and_the_latest_first_within_a_status_up_to_ten(vault, admin_user) -> None:
    from project.console.dashboard import dashboard_for

    files = [InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(14)]
    ids = [o.account_id for o in session_import(actor=SYSTEM, files=files).outcomes]
    now = timezone.now()
    plan = ["offline"] * 6 + ["banned"] * 2 + ["flood_wait"] * 4 + ["ok"] * 2  # banned is worst, then offline
    for n, (pk, status) in enumerate(zip(ids, plan, strict=True)):
        TelegramAccount.objects.filter(pk=pk).update(status=status, label=f"{status}-{n}",
                                                     updated_at=now - dt.timedelta(minutes=n))  # fmt: skip

    context = dashboard_for(admin_user)

    assert [a.label for a, _colour in context["attention"]] == [
        "banned-6", "banned-7", "offline-0", "offline-1", "offline-2", "offline-3", "offline-4", "offline-5",
        "flood_wait-8", "flood_wait-9"]  # fmt: skip
    assert context["attention_count"] == 12
