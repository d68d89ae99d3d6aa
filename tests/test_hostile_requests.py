"""Hostile requests from the security review: bad ids, NUL bytes, anonymous exposure, cross-team leaks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = [pytest.mark.django_db]


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _account(team) -> TelegramAccount:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    report = session_import(actor=SYSTEM, files=files, team=team)
    return TelegramAccount.objects.get(pk=report.outcomes[0].account_id)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/accounts/abc/check", 404),
        ("/api/v1/accounts/1e3/export", 404),
        ("/api/v1/accounts/1%00/check", 400),
        ("/api/v1/accounts/" + "9" * 70 + "/check", 404),
        ("/api/v1/accounts/%EF%BC%91/check", 404),  # a full-width digit one: int() would read it as 1
        ("/api/v1/accounts/-1/check", 404),
        ("/api/v1/accounts/01/check", 404),
    ],
)
def test_an_id_that_is_not_a_plain_decimal_is_refused_and_names_no_target(vault, operator, blue_team, path, expected):
    _account(blue_team)
    before = AuditEvent.objects.count()

    response = _api(operator).post(path, {"format": "telethon_string"}, format="json")

    assert response.status_code == expected
    assert response["Content-Type"].startswith("application/json")
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/audit/events?target_id=%00",
        "/api/v1/audit/events?actor=a%00b",
        "/api/v1/audit/events.jsonl?since=garbage",
        "/api/v1/audit/events.jsonl?until=2026-13-45T99:00:00Z",
        "/api/v1/accounts?search=%00",
    ],
)
def test_bad_filters_answer_400_naming_the_problem(superuser, path) -> None:
    response = _api(superuser).get(path)

    assert response.status_code == 400, response.content
    assert response.json()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/audit/auditevent/?target_id=%00",
        "/admin/audit/auditevent/?actor=%00",
        "/admin/audit/auditevent/?q=%00",
        "/admin/accounts/telegramaccount/?q=%00",
        "/admin/accounts/telegramaccount/?status=%00",
        "/admin/audit/auditevent/?p=-1",
        "/admin/accounts/telegramaccount/?p=-1",
        "/admin/audit/auditevent/export.jsonl?since=garbage",
        "/admin/accounts/telegramaccount/abc/change/",
        "/admin/accounts/telegramaccount/%EF%BC%91/change/",
    ],
)
def test_the_console_meets_bad_parameters_without_a_server_error(client, superuser, path) -> None:
    client.force_login(superuser)

    response = client.get(path)

    assert response.status_code in (200, 302, 400, 404), (path, response.status_code)


def test_a_route_id_beyond_the_database_integer_is_refused(admin_user) -> None:
    response = _api(admin_user).post("/api/v1/alerts/test", {"route": 10**70}, format="json")

    assert response.status_code == 400
    assert "route" in response.json()


def test_a_duplicate_names_its_account_only_to_someone_who_may_see_it(vault, operator, admin_user, red_team):
    key = make.random_key()
    theirs = _account_with_key(key, red_team)
    upload = [InputFile("again.txt", make.telethon_string(key=key).encode())]

    as_operator = session_import(actor=operator, files=upload)
    as_admin = session_import(actor=admin_user, files=upload, team=red_team)

    assert [(o.result, o.account_id) for o in as_operator.outcomes] == [("duplicate", None)]
    assert [(o.result, o.account_id) for o in as_admin.outcomes] == [("duplicate", theirs.pk)]


def _account_with_key(key: bytes, team) -> TelegramAccount:
    report = session_import(actor=SYSTEM, files=[InputFile("k.txt", make.telethon_string(key=key).encode())], team=team)
    return TelegramAccount.objects.get(pk=report.outcomes[0].account_id)


def test_another_team_and_no_team_at_all_get_the_same_answer(vault, operator, red_team) -> None:
    def upload(team_id: int):
        files = [SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
        return _api(operator).post("/api/v1/accounts/import", {"files": files, "team": team_id}, format="multipart")

    other, unknown = upload(red_team.pk), upload(red_team.pk + 1000)

    assert (other.status_code, other.json()) == (unknown.status_code, unknown.json()) == (
        403, {"detail": "you may only put accounts in your own teams"})  # fmt: skip
    assert "red" not in other.content.decode()
    assert not TelegramAccount.objects.exists()
    denied = AuditEvent.objects.filter(action="session.import", outcome="denied").count()
    assert denied == 2


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_team_lists_and_autocomplete_show_only_ones_own_teams(client, request, red_team, role) -> None:
    client.force_login(request.getfixturevalue(role))

    listing = client.get("/admin/accounts/team/")
    autocomplete = client.get(
        "/admin/autocomplete/", {"app_label": "accounts", "model_name": "telegramaccount", "field_name": "team"}
    )

    assert listing.status_code == 200 and autocomplete.status_code == 200
    assert "blue" in listing.content.decode() and "red" not in listing.content.decode()
    assert [r["text"] for r in autocomplete.json()["results"]] == ["blue"]
    assert client.get(f"/admin/accounts/team/{red_team.pk}/change/").status_code in (302, 404)
