"""Every protected endpoint and admin action against every role: allowed, 403 or 404, and the event written."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tokens import token_create
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.jobs import job_run_as_worker

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]
ROLES = ["superuser", "admin_user", "operator", "other_operator", "viewer", "auditor", "outsider", "anonymous",
         "expired_token"]  # fmt: skip


@pytest.fixture
def fleet(vault, blue_team, red_team):
    """One account for each team."""
    accounts = {}
    for team in (blue_team, red_team):
        files = [InputFile(f"{team.name}.txt", make.telethon_string(key=make.random_key()).encode())]
        report = session_import(actor=SYSTEM, files=files, team=team)
        accounts[team.name] = TelegramAccount.objects.get(pk=report.outcomes[0].account_id)
    return accounts


def _client(request, role: str) -> tuple[APIClient, object]:
    client = APIClient()
    if role == "anonymous":
        return client, None
    if role == "expired_token":
        user = request.getfixturevalue("operator")
        row, token = token_create(actor=SYSTEM, user=user, expires_days=1)
        ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client, user
    user = request.getfixturevalue(role)
    _row, token = token_create(actor=SYSTEM, user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client, user


def _last_event(action: str) -> AuditEvent | None:
    return AuditEvent.objects.filter(action=action).order_by("-sequence").first()


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        ("admin_user", {"blue", "red"}),
        ("operator", {"blue"}),
        ("other_operator", {"red"}),
        ("viewer", {"blue"}),
        ("auditor", set()),
        ("superuser", {"blue", "red"}),
        ("outsider", set()),
    ],
)
def test_each_role_lists_only_its_accounts(request, fleet, role, visible) -> None:
    client, _ = _client(request, role)

    response = client.get("/api/v1/accounts")

    assert response.status_code == 200
    assert {a["label"] for a in response.json()["results"]} == visible


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin_user", 200),
        ("operator", 200),
        ("other_operator", 404),
        ("viewer", 200),
        ("auditor", 404),
        ("superuser", 200),
        ("outsider", 404),
        ("anonymous", 401),
        ("expired_token", 401),
    ],
)
def test_account_detail_by_role(request, fleet, role, status) -> None:
    client, _ = _client(request, role)

    assert client.get(f"/api/v1/accounts/{fleet['blue'].pk}").status_code == status


@pytest.mark.parametrize(
    ("role", "status", "outcome"),
    [
        ("admin_user", 200, "allowed"),
        ("operator", 200, "allowed"),
        ("other_operator", 404, "denied"),
        ("viewer", 403, "denied"),
        ("auditor", 404, "denied"),
        ("superuser", 200, "allowed"),
        ("outsider", 404, "denied"),
        ("anonymous", 401, None),
        ("expired_token", 401, None),
    ],
)
def test_session_export_by_role(request, fleet, role, status, outcome) -> None:
    client, user = _client(request, role)
    before = AuditEvent.objects.filter(action="session.export").count()

    response = client.post(f"/api/v1/accounts/{fleet['blue'].pk}/export", {"format": "telethon_string"}, format="json")

    assert response.status_code == status
    event = _last_event("session.export")
    if outcome is None:
        assert AuditEvent.objects.filter(action="session.export").count() == before
        if role == "expired_token":
            assert _last_event("auth.token").outcome == "denied"
    else:
        assert (event.outcome, event.actor_name, event.target_id) == (outcome, user.username, str(fleet["blue"].pk))


@pytest.mark.parametrize(
    ("role", "status", "outcome"),
    [
        ("admin_user", 202, "allowed"),
        ("operator", 202, "allowed"),
        ("other_operator", 202, "allowed"),
        ("viewer", 403, "denied"),
        ("auditor", 403, "denied"),
        ("superuser", 202, "allowed"),
        ("outsider", 403, "denied"),
        ("anonymous", 401, None),
        ("expired_token", 401, None),
    ],
)
def test_session_import_by_role(request, fleet, role, status, outcome) -> None:
    client, user = _client(request, role)
    upload = {"files": [make.telethon_string(key=make.random_key()).encode()]}
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = {"files": [SimpleUploadedFile("n.txt", upload["files"][0])]}
    before = TelegramAccount.objects.count()

    response = client.post("/api/v1/accounts/import", upload, format="multipart")
    if response.status_code == 202:
        job_run_as_worker(client, response)

    assert response.status_code == status
    assert TelegramAccount.objects.count() == before + (1 if outcome == "allowed" else 0)
    if outcome:
        event = _last_event("session.import")
        assert (event.outcome, event.actor_name) == (outcome, user.username)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("superuser", 200),
        ("admin_user", 200),
        ("auditor", 200),
        ("operator", 403),
        ("viewer", 403),
        ("outsider", 403),
        ("anonymous", 401),
    ],
)
def test_audit_reading_by_role(request, fleet, role, status) -> None:
    client, _ = _client(request, role)

    assert client.get("/api/v1/audit/events").status_code == status
    assert client.get("/api/v1/audit/events.jsonl").status_code == status


@pytest.mark.parametrize(
    ("role", "status", "changed", "outcome"),
    [
        ("admin_user", 302, True, "allowed"),
        ("operator", 302, True, "allowed"),
        ("other_operator", 302, False, None),  # the admin answers an invisible object by redirecting home
        ("viewer", 403, False, None),
        ("auditor", 403, False, None),
        ("superuser", 302, True, "allowed"),
        ("outsider", 403, False, None),
    ],
)
def test_admin_change_by_role(request, fleet, client, role, status, changed, outcome) -> None:
    user = request.getfixturevalue(role)
    client.force_login(user)
    account = fleet["blue"]

    response = client.post(
        f"/admin/accounts/telegramaccount/{account.pk}/change/",
        {"label": "renamed", "phone": "", "username": "", "team": account.team_id, "notes": ""},
    )

    assert response.status_code == status
    assert (TelegramAccount.objects.get(pk=account.pk).label == "renamed") is changed
    if outcome:
        event = _last_event("account.change")
        assert (event.outcome, event.actor_name, event.details["changed"]["label"][1]) == (
            outcome,
            user.username,
            "renamed",
        )


@pytest.mark.parametrize(
    ("role", "status", "outcome"),
    [
        ("admin_user", 200, "allowed"),
        ("operator", 200, "allowed"),
        ("other_operator", 404, "denied"),
        ("viewer", 403, "denied"),
        ("auditor", 404, "denied"),
        ("superuser", 200, "allowed"),
        ("outsider", 404, "denied"),
    ],
)
def test_admin_export_by_role(request, fleet, client, role, status, outcome) -> None:
    user = request.getfixturevalue(role)
    client.force_login(user)
    form = {"format": "telethon_string", "reason": "audit test", "confirm": "on"}

    response = client.post(f"/admin/accounts/telegramaccount/{fleet['blue'].pk}/export/", form)

    assert response.status_code == status
    event = _last_event("session.export")
    assert (event.outcome, event.actor_name) == (outcome, user.username)
    if outcome == "allowed":
        assert event.details == {"format": "telethon_string", "reason": "audit test"}


@pytest.mark.parametrize(
    ("role", "status", "deleted"),
    [
        ("superuser", 302, True),
        ("admin_user", 302, True),
        ("operator", 302, True),
        ("other_operator", 302, False),  # invisible: the admin redirects home, nothing deleted
        ("viewer", 403, False),
        ("auditor", 403, False),
        ("outsider", 403, False),
    ],
)
def test_admin_delete_by_role(request, fleet, vault, client, django_capture_on_commit_callbacks, role, status,
                              deleted) -> None:  # fmt: skip
    user = request.getfixturevalue(role)
    client.force_login(user)
    account = fleet["blue"]
    sealed = vault / account.vault_name
    assert sealed.is_file()
    before = AuditEvent.objects.filter(action="account.delete").count()

    with django_capture_on_commit_callbacks(execute=True):  # the file goes once the deletion commits
        response = client.post(f"/admin/accounts/telegramaccount/{account.pk}/delete/", {"post": "yes"})

    assert response.status_code == status
    assert TelegramAccount.objects.filter(pk=account.pk).exists() is not deleted
    assert sealed.exists() is not deleted
    if deleted:
        event = _last_event("account.delete")
        assert (event.actor_name, event.outcome, event.target_id) == (user.username, "allowed", str(account.pk))
    else:
        assert AuditEvent.objects.filter(action="account.delete", outcome="allowed").count() == before
