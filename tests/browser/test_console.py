"""The console in a real browser: each role sees what it may, import, check, export, audit, alerts."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import AccountStatus, Job, TelegramAccount
from accounts.services import account_check, session_import
from accounts.sessions import InputFile
from alerts.delivery import deliver_sweep
from alerts.models import Notification, Route, Severity
from alerts.services import alert_raise, alert_resolve
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.browser.conftest import in_thread, login, screenshot
from tests.mtproto_dc import Behaviour
from tests.processes import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


def _fleet(dc, blue_team, red_team) -> dict[str, TelegramAccount]:
    """Five accounts on the loopback DC (three blue, two red), each answering checks its own way, checked once."""
    plan = {
        "blue-ok": (blue_team, Behaviour()),
        "blue-revoked": (blue_team, Behaviour.error(401, "AUTH_KEY_UNREGISTERED")),
        "blue-flood": (blue_team, Behaviour.error(420, "FLOOD_WAIT_300")),
        "red-ok": (red_team, Behaviour()),
        "red-banned": (red_team, Behaviour.error(401, "USER_DEACTIVATED_BAN")),
    }
    accounts = {}
    for label, (team, behaviour) in plan.items():
        key = make.random_key()
        dc.add_key(key, behaviour)
        text = make.telethon_string(key=key, address="127.0.0.1").encode()
        [outcome] = session_import(actor=SYSTEM, files=[InputFile(f"{label}.txt", text)], team=team).outcomes
        accounts[label] = TelegramAccount.objects.get(pk=outcome.account_id)
    for account in accounts.values():
        in_thread(account_check, actor=SYSTEM, account=account)
    return {label: TelegramAccount.objects.get(pk=a.pk) for label, a in accounts.items()}


@pytest.fixture
def fleet(vault, telegram_dc, blue_team, red_team):
    return _fleet(telegram_dc, blue_team, red_team)


def _says(page, text: str) -> None:
    """The page's messages include text (the admin capitalises each message's first letter)."""
    expect(page.locator(".messagelist")).to_contain_text(re.compile(re.escape(text), re.I))


def _rows(page, table: str) -> list[list[str]]:
    return [[c.strip() for c in row.locator("td").all_inner_texts()] for row in page.locator(f"{table} tbody tr").all()]


def _listed_labels(page) -> set[str]:
    page.wait_for_load_state()
    page.locator("#changelist").wait_for()
    return set(page.locator("#result_list tbody th a").all_inner_texts())


def test_admin_sees_the_whole_fleet_on_the_dashboard_and_in_the_list(page, fleet, admin_user) -> None:
    login(page, admin_user)

    tiles = {t.get_attribute("data-status"): int(t.locator(".tile-count").inner_text())
             for t in page.locator("#status-tiles .tile").all()}  # fmt: skip
    assert tiles["ok"] == 2 and tiles["unauthorized"] == 1 and tiles["banned"] == 1 and tiles["flood_wait"] == 1
    assert page.locator("#check-chart svg rect[data-series=ok]").count() == 1  # this hour's bar
    assert set(page.locator("#check-chart .legend li").all_inner_texts()) >= {"ok 2", "revoked 1", "banned 1"}
    attention = [row[0] for row in _rows(page, "#attention")]
    assert attention == ["red-banned", "blue-revoked", "blue-flood"]
    expect(page.locator("#health h2")).to_contain_text("Health")
    assert page.locator("#health .health-list li").count() >= 4
    screenshot(page, "dashboard")

    page.click("#status-tiles .tile[data-status=unauthorized]")
    page.wait_for_url("**status__exact=unauthorized")
    assert _listed_labels(page) == {"blue-revoked"}
    page.goto("/admin/accounts/telegramaccount/")
    assert _listed_labels(page) == set(fleet)
    page.fill("#searchbar", "red")
    page.press("#searchbar", "Enter")
    assert _listed_labels(page) == {"red-ok", "red-banned"}
    page.goto("/admin/accounts/telegramaccount/")
    screenshot(page, "accounts")


def test_operator_sees_only_the_team_s_accounts(page, fleet, operator) -> None:
    login(page, operator)
    tiles = {t.get_attribute("data-status"): int(t.locator(".tile-count").inner_text())
             for t in page.locator("#status-tiles .tile").all()}  # fmt: skip
    assert sum(tiles.values()) == 3 and tiles["banned"] == 0
    assert "red-banned" not in page.locator("#attention").inner_text()
    alerts = page.locator("#recent-alerts").inner_text()
    assert "blue-revoked" in alerts and "red-banned" not in alerts  # other teams' accounts stay out of sight

    page.goto("/admin/accounts/telegramaccount/")
    assert _listed_labels(page) == {"blue-ok", "blue-revoked", "blue-flood"}
    team_filter = page.locator("details[data-filter-title=team]").inner_text()
    assert "blue" in team_filter and "red" not in team_filter
    assert page.locator("select[name=action] option[value=check_now]").count() == 1

    page.goto(f"/admin/accounts/telegramaccount/{fleet['red-ok'].pk}/change/")
    _says(page, "doesn’t exist")
    assert page.locator("#account-status").count() == 0
    assert page.goto(f"/admin/accounts/telegramaccount/{fleet['red-ok'].pk}/export/").status == 404
    assert page.goto("/admin/audit/auditevent/").status == 403


def test_viewer_may_look_but_not_check_import_or_export(page, fleet, viewer) -> None:
    login(page, viewer)
    page.goto("/admin/accounts/telegramaccount/")
    assert _listed_labels(page) == {"blue-ok", "blue-revoked", "blue-flood"}
    assert page.locator("select[name=action] option[value=check_now]").count() == 0
    assert page.locator("text=Import sessions").count() == 0

    account = fleet["blue-ok"]
    page.goto(f"/admin/accounts/telegramaccount/{account.pk}/change/")
    expect(page.locator("#account-status")).to_have_text("OK")
    assert page.locator("#check-now").count() == 0 and page.locator("#export-session").count() == 0
    expect(page.locator("#account-audit")).to_contain_text("does not include reading the audit trail")
    screenshot(page, "account-viewer")

    assert page.goto(f"/admin/accounts/telegramaccount/{account.pk}/export/").status == 403
    assert page.goto("/admin/accounts/telegramaccount/import/").status == 403
    assert AuditEvent.objects.filter(actor_name="viewer", action="session.export", outcome="denied").count() == 1
    before = TelegramAccount.objects.get(pk=account.pk).last_checked_at
    response = page.request.post(f"/admin/accounts/telegramaccount/{account.pk}/check/")
    assert response.status == 403  # no CSRF token and no permission: either way, nothing ran
    assert TelegramAccount.objects.get(pk=account.pk).last_checked_at == before


def test_auditor_sees_the_trail_and_no_accounts(page, fleet, auditor, operator) -> None:
    login(page, auditor)
    assert page.locator("#status-tiles").count() == 0 and page.locator("#attention").count() == 0
    assert page.goto("/admin/accounts/telegramaccount/").status == 403

    page.goto("/admin/audit/auditevent/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == AuditEvent.objects.count()
    page.fill("input[name=actor]", "system:test")
    page.press("input[name=actor]", "Enter")
    page.click("details[data-filter-title=action] >> text=account.check")
    assert rows.count() == 5
    screenshot(page, "audit")

    with page.expect_download() as download:
        page.click("#audit-jsonl")
    lines = [json.loads(line) for line in Path(download.value.path()).read_text("utf-8").splitlines()]
    assert len(lines) == 5
    assert {(e["actor_name"], e["action"]) for e in lines} == {("system:test", "account.check")}
    assert [e["sequence"] for e in lines] == sorted(e["sequence"] for e in lines)

    page.goto("/admin/audit/auditevent/?since=yesterday")
    _says(page, "since must be an ISO 8601 date and time")


def test_check_now_from_the_account_page(page, check_worker_env, telegram_dc, blue_team, operator, tmp_path) -> None:
    key = make.random_key()
    telegram_dc.add_key(key)
    text = make.telethon_string(key=key, address="127.0.0.1").encode()
    [outcome] = session_import(actor=SYSTEM, files=[InputFile("fresh.txt", text)], team=blue_team).outcomes

    with celery_worker(check_worker_env, tmp_path / "worker.log"):  # the check runs there, never in the page
        login(page, operator)
        page.goto(f"/admin/accounts/telegramaccount/{outcome.account_id}/change/")
        expect(page.locator("#account-status")).to_have_text("Unchecked")
        page.click("#check-now")
        _says(page, "fresh: ok, status unchecked → ok")
        expect(page.locator("#account-status")).to_have_text("OK")
        assert page.locator("#recent-checks tbody tr").count() == 1
        assert page.locator("#check-history svg circle[data-series=ok]").count() == 1
        expect(page.locator("#status-timeline")).to_contain_text("Unchecked → OK")
        screenshot(page, "account")

        telegram_dc.add_key(key, Behaviour.error(401, "AUTH_KEY_UNREGISTERED"))  # the session is revoked
        page.click("#check-now")
        expect(page.locator("#account-status")).to_have_text("Unauthorized")
    assert TelegramAccount.objects.get(pk=outcome.account_id).status == AccountStatus.UNAUTHORIZED
    assert Job.objects.filter(kind="check", state="done").count() == 2


def test_export_needs_a_reason_and_confirmation_and_then_downloads(page, vault, blue_team, operator) -> None:
    original = make.telethon_string(key=make.random_key(), address="127.0.0.1")
    [outcome] = session_import(actor=SYSTEM, files=[InputFile("keep.txt", original.encode())], team=blue_team).outcomes

    login(page, operator)
    page.goto(f"/admin/accounts/telegramaccount/{outcome.account_id}/change/")
    page.click("#export-session")
    page.select_option("#id_format", "telethon_string")
    page.fill("#id_reason", "moving the account to the new server")
    screenshot(page, "export")
    page.click("input[type=submit][value=Export]")  # not confirmed yet
    assert page.locator("#id_confirm:invalid").count() == 1  # the browser itself holds the form back
    assert page.url.endswith("/export/")
    assert not AuditEvent.objects.filter(action="session.export").exists()

    page.check("#id_confirm")
    with page.expect_download() as download:
        page.click("input[type=submit][value=Export]")
    assert Path(download.value.path()).read_text("utf-8").strip() == original
    event = AuditEvent.objects.get(action="session.export")
    assert event.actor_name == "operator" and event.outcome == "allowed"
    assert event.details["reason"] == "moving the account to the new server"
    assert original not in json.dumps(event.details)


def test_route_statistics_and_send_test(page, bot, admin_user) -> None:
    Route.objects.create(name="ops", chat_id="-100777", kind_pattern="account.*", cooldown_seconds=0)
    Route.objects.create(name="health", chat_id="-100888", kind_pattern="health.*")
    for i in range(3):
        alert_raise(kind="account.status", severity=Severity.CRITICAL, key=f"account:{i}", summary=f"acct-{i} banned")
    alert_resolve(kind="account.status", key="account:0")
    in_thread(deliver_sweep, budget_seconds=10)
    login(page, admin_user)
    page.goto("/admin/alerts/route/")
    page.click("#delivery-stats")
    expect(page.locator("#route-stats")).to_contain_text("ops")
    page.click("#route-stats button[data-route=ops]")
    _says(page, "ops: sent")
    [test_message] = [m for m in bot.received if "reaches this chat" in m.text]
    assert test_message.chat_id == "-100777"
    sent = int(page.locator("#delivery-totals .tile[data-state=sent] .tile-count").inner_text())
    assert sent == Notification.objects.filter(state="sent").count() > 0
    ops = page.locator("#route-stats tbody tr", has_text="-100777")
    expect(ops.locator("td").nth(9)).to_have_text("0 minutes ago")  # last success: the test message
    screenshot(page, "alerts")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def import_worker(vault, settings, tmp_path):
    from tests.processes import celery_worker, clean_env
    from tests.services import shared_worker_env

    env = clean_env(DATA_DIR=str(tmp_path / "worker-data"), **shared_worker_env(), SESSION_STORE_DIR=str(vault),
                    SESSION_ENCRYPTION_KEY=settings.SESSION_ENCRYPTION_KEY[0])  # fmt: skip
    with celery_worker(env, tmp_path / "worker.log"):
        yield


def test_import_runs_as_a_task_and_the_page_follows_it(page, import_worker, vault, blue_team, operator) -> None:
    strings = {f"zipped-{i}.txt": make.telethon_string(key=make.random_key()).encode() for i in range(3)}
    bundle = _zip({**strings, "notes/readme.md": b"not a session"})
    loose = make.telethon_string(key=make.random_key()).encode()

    login(page, operator)
    page.goto("/admin/accounts/telegramaccount/")
    page.click("text=Import sessions")
    page.wait_for_url("**/telegramaccount/import/")  # loaded, with the page's script listening
    page.set_input_files("#id_files", [
        {"name": "bundle.zip", "mimeType": "application/zip", "buffer": bundle},
        {"name": "again.txt", "mimeType": "text/plain", "buffer": strings["zipped-0.txt"]},
    ])  # fmt: skip
    dropped = page.evaluate_handle(
        "text => { const d = new DataTransfer(); d.items.add(new File([text], 'loose.txt')); return d; }",
        loose.decode(),
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})  # a file dragged onto the drop zone
    expect(page.locator("#dropped")).to_have_text("bundle.zip, again.txt, loose.txt")
    page.select_option("#id_team", label="blue")
    screenshot(page, "import")
    page.click("#import-submit")

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-state")).to_have_text("done", timeout=60_000)
    expect(page.locator("#job-summary")).to_have_text("Imported 4, duplicates 1, rejected 1.")
    results = {row[0]: row[1] for row in _rows(page, "#job-results")}
    assert results == {"bundle.zip:zipped-0.txt": "imported", "bundle.zip:zipped-1.txt": "imported",
                       "bundle.zip:zipped-2.txt": "imported", "bundle.zip:notes/readme.md": "rejected",
                       "loose.txt": "imported", "again.txt": "duplicate"}  # fmt: skip
    expect(page.locator("#job-count")).to_have_text("6/6")
    screenshot(page, "import-progress")

    job = Job.objects.get()
    assert job.created_by == operator and job.state == "done"
    assert set(TelegramAccount.objects.values_list("team__name", flat=True)) == {"blue"}
    assert TelegramAccount.objects.count() == 4
    assert not (vault / job.staged_name).exists()  # the sealed upload is gone once imported
    page.click("#job-results a >> nth=0")
    expect(page.locator("#account-status")).to_have_text("Unchecked")


def _inside_viewport(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_the_account_list_fits_a_wide_screen_and_keeps_status_on_a_phone(page, fleet, admin_user) -> None:
    login(page, admin_user)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/admin/accounts/telegramaccount/")
    page.locator("#result_list").wait_for()
    results = page.locator("#changelist .results").bounding_box()
    assert results["x"] + results["width"] <= 1400  # the box never runs off the page; it scrolls inside
    assert _inside_viewport(page, "#result_list td.field-status_badge")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/accounts/telegramaccount/")
    page.locator("#result_list").wait_for()
    assert _inside_viewport(page, "#result_list td.field-status_badge")
    assert page.locator("#result_list td.field-dc_id").first.is_hidden()
    screenshot(page, "accounts-phone")
