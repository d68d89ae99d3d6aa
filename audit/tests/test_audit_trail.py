"""The trail is append-only, tamper-evident and fail-closed."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.http import Http404
from rest_framework.test import APIClient

from accounts.models import TelegramAccount
from accounts.services import account_for_action, session_export, session_import
from accounts.sessions import InputFile
from accounts.tokens import token_create
from audit.models import AuditEvent, AuditImmutableError
from audit.services import audit_record
from audit.verify import audit_chain_verify
from conftest import SYSTEM
from tests import session_makers as make
from tests.services import service_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def _events(count: int) -> None:
    for i in range(count):
        audit_record(actor=SYSTEM, action="test.event", target_text=f"event {i}", details={"i": i})


def _raw(sql: str, *params) -> None:
    """What an attacker with database access does; on PostgreSQL they must first switch the trigger off."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_append_only")


def test_an_untouched_trail_verifies(capsys) -> None:
    _events(20)

    call_command("verify_audit")

    assert "audit trail intact: 20 events verified" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE audit_auditevent SET target_text = 'innocent' WHERE sequence = 7", "event #7 was changed"),
        ("UPDATE audit_auditevent SET details = '{\"i\": 99}' WHERE sequence = 3", "event #3 was changed"),
        ("DELETE FROM audit_auditevent WHERE sequence = 5", "event #5 is missing"),
        ("DELETE FROM audit_auditevent WHERE sequence >= 18", "the trail ends at #17 but was written up to #20"),
    ],
)
def test_verify_finds_raw_sql_tampering(tamper, problem, capsys) -> None:
    _events(20)
    _raw(tamper)

    with pytest.raises(SystemExit) as exited:
        call_command("verify_audit")

    assert exited.value.code == 1
    assert problem in capsys.readouterr().err


def test_verify_finds_reordered_events(capsys) -> None:
    _events(10)
    # Swap the contents of #4 and #6 (sequence numbers stay in place).
    _raw("UPDATE audit_auditevent SET sequence = -4 WHERE sequence = 4")
    _raw("UPDATE audit_auditevent SET sequence = 4 WHERE sequence = 6")
    _raw("UPDATE audit_auditevent SET sequence = 6 WHERE sequence = -4")

    with pytest.raises(SystemExit):
        call_command("verify_audit")

    assert "event #4" in capsys.readouterr().err


def test_the_orm_refuses_updates_and_deletes() -> None:
    _events(1)
    event = AuditEvent.objects.get()

    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_postgresql_refuses_raw_updates_and_deletes() -> None:
    service_url("DATABASE_URL")  # under CI this must be PostgreSQL, never a skip
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; SQLite relies on the model")
    from django.db import DatabaseError, transaction

    _events(1)
    for sql in ("UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEvent.objects.get().action == "test.event"


def _break_audit_inserts() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION audit_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit down'; END; $$"
                " LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_auditevent FOR EACH ROW EXECUTE FUNCTION audit_down()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER audit_down BEFORE INSERT ON audit_auditevent"
                " BEGIN SELECT RAISE(ABORT, 'audit down'); END"
            )


def _repair_audit_inserts() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER audit_down ON audit_auditevent"
            if connection.vendor == "postgresql"
            else "DROP TRIGGER audit_down"
        )
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION audit_down()")


def test_an_export_is_refused_when_its_event_cannot_be_written(vault, operator, blue_team) -> None:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    account = TelegramAccount.objects.get(
        pk=session_import(actor=SYSTEM, files=files, team=blue_team).outcomes[0].account_id
    )
    events_before = AuditEvent.objects.count()
    client = APIClient()
    client.force_authenticate(operator)
    _break_audit_inserts()
    try:
        response = client.post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_string"}, format="json")
    finally:
        _repair_audit_inserts()

    assert response.status_code == 503
    assert response.json() == {"detail": "the audit trail could not be written, so the action was refused"}
    assert AuditEvent.objects.count() == events_before


def test_an_import_stores_nothing_when_its_event_cannot_be_written(vault) -> None:
    from audit.services import AuditUnavailableError

    _break_audit_inserts()
    try:
        with pytest.raises(AuditUnavailableError):
            session_import(
                actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
            )
    finally:
        _repair_audit_inserts()

    assert not TelegramAccount.objects.exists()
    assert not vault.exists() or not any(p for p in vault.iterdir() if not p.name.startswith("."))


def test_events_carry_request_id_ip_and_agent(vault, operator, blue_team) -> None:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    account = TelegramAccount.objects.get(
        pk=session_import(actor=SYSTEM, files=files, team=blue_team).outcomes[0].account_id
    )
    client = APIClient(HTTP_USER_AGENT="tgfleet-test/1.0", HTTP_X_REQUEST_ID="req-12345678")
    client.force_authenticate(operator)

    response = client.post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_string"}, format="json")

    event = AuditEvent.objects.filter(action="session.export").get()
    assert response["X-Request-ID"] == "req-12345678"
    assert (event.request_id, event.client_ip, event.user_agent) == ("req-12345678", "127.0.0.1", "tgfleet-test/1.0")


def test_a_token_is_stored_hashed_and_its_event_holds_an_hmac(operator) -> None:
    row, token = token_create(actor=SYSTEM, user=operator, expires_days=30)

    event = AuditEvent.objects.filter(action="token.create").get()
    dumped = json.dumps(event.details) + event.target_text
    assert token not in dumped and token not in row.key_sha256 + row.prefix[4:] + "x"
    assert event.details["token"].startswith("hmac-sha256:")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/accounts").status_code == 200


def test_create_api_token_prints_the_token_once(operator, capsys) -> None:
    call_command("create_api_token", "operator", "--expires-days", "7")
    token = capsys.readouterr().out.strip()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/accounts").status_code == 200
    with pytest.raises(Exception, match="--expires-days must be between 1 and 3650"):
        call_command("create_api_token", "operator", "--expires-days", "0")
    with pytest.raises(Exception, match="no active user named 'ghost'"):
        call_command("create_api_token", "ghost")


def test_repeated_failed_logins_lock_the_account_out_and_are_audited(operator, client, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/admin/login/", {"username": "operator", "password": "wrong-password-123"})

    locked = client.post("/admin/login/", {"username": "operator", "password": "correct-horse-battery-9"})

    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in paused" in page and "<strong>operator</strong>" in page and "(3 in a row)" in page
    assert 'id="site-name"' in page  # the console's own page, styled like the rest
    # Three wrong passwords, then the refused right one: four denied attempts.
    assert AuditEvent.objects.filter(action="auth.login", outcome="denied", target_text="operator").count() == 4
    assert not AuditEvent.objects.filter(action="auth.login", outcome="allowed").exists()


def test_a_good_login_is_audited(operator, client) -> None:
    response = client.post("/admin/login/", {"username": "operator", "password": "correct-horse-battery-9"})

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.login", outcome="allowed", actor_name="operator").exists()


def test_audit_api_filters_paginates_and_exports_jsonl(auditor) -> None:
    _events(5)
    audit_record(actor=SYSTEM, action="other.event", outcome="denied")
    client = APIClient()
    client.force_authenticate(auditor)

    page = client.get("/api/v1/audit/events", {"action": "test.event", "page_size": 2})
    following = client.get(page.json()["next"])
    denied = client.get("/api/v1/audit/events", {"outcome": "denied", "actor": "system:test"})
    bad = client.get("/api/v1/audit/events", {"since": "yesterday"})
    lines = b"".join(client.get("/api/v1/audit/events.jsonl", {"action": "test.event"}).streaming_content).splitlines()

    assert [e["details"]["i"] for e in page.json()["results"]] == [4, 3]
    assert [e["details"]["i"] for e in following.json()["results"]] == [2, 1]
    assert [e["action"] for e in denied.json()["results"]] == ["other.event"]
    assert bad.status_code == 400 and "since must be an ISO 8601" in bad.json()["since"][0]
    assert [json.loads(line)["details"]["i"] for line in lines] == [0, 1, 2, 3, 4]


def test_auditors_read_events_but_never_sessions(vault, auditor, blue_team) -> None:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    account = TelegramAccount.objects.get(
        pk=session_import(actor=SYSTEM, files=files, team=blue_team).outcomes[0].account_id
    )

    with pytest.raises(Http404):
        account_for_action(actor=auditor, account_id=account.pk, codename="export_session", action="session.export")
    with pytest.raises(PermissionDenied):
        session_export(actor=auditor, account=account, export_format="telethon_string")
    assert audit_chain_verify().problem is None


def test_time_windows_select_exactly_the_events_inside_them(auditor, monkeypatch) -> None:
    import datetime as dt

    from django.utils import timezone

    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for hour in range(6):  # one event per hour, under a faked clock
        monkeypatch.setattr(timezone, "now", lambda hour=hour: base + dt.timedelta(hours=hour, minutes=30))
        audit_record(actor=SYSTEM, action="timed.event", details={"hour": hour})
    monkeypatch.undo()
    client = APIClient()
    client.force_authenticate(auditor)

    window = client.get("/api/v1/audit/events", {"since": "2026-01-01T02:00:00Z", "until": "2026-01-01T04:00:00Z"})
    before_all = client.get("/api/v1/audit/events", {"until": "2025-12-31T00:00:00Z"})
    after_all = client.get("/api/v1/audit/events", {"since": "2027-01-01T00:00:00Z"})

    assert [e["details"]["hour"] for e in window.json()["results"]] == [3, 2]
    assert before_all.json()["results"] == after_all.json()["results"] == []
