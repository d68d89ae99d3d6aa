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


@pytest.mark.django_db
def test_finished_hours_are_counted_once_and_the_current_hour_live(vault, admin_user, operator, blue_team) -> None:
    from accounts.models import CheckRecord
    from project.console.dashboard import dashboard_for

    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    session_import(actor=SYSTEM, files=files, team=blue_team)
    account = TelegramAccount.objects.get()
    now = timezone.now().replace(minute=30) + dt.timedelta(days=3650)  # an hour no other test has kept
    for _ in range(2):
        CheckRecord.objects.create(account=account, at=now - dt.timedelta(hours=3), outcome="ok", latency_ms=100)
    CheckRecord.objects.create(account=account, at=now, outcome="timeout", latency_ms=5000)

    def totals(user) -> dict[str, int]:
        return {item["outcome"]: item["count"] for item in dashboard_for(user, now=now)["check_totals"]}

    assert totals(admin_user) == {"ok": 2, "timeout": 1}
    CheckRecord.objects.create(account=account, at=now - dt.timedelta(hours=3), outcome="ok", latency_ms=100)
    CheckRecord.objects.create(account=account, at=now, outcome="timeout", latency_ms=5000)

    assert totals(admin_user) == {"ok": 2, "timeout": 2}  # the finished hour was kept; this hour is live
    assert totals(operator) == {"ok": 3, "timeout": 2}  # another scope counts for itself


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
