"""The REST API and admin pages over the vault: permitted users succeed, others are refused."""

import base64
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from accounts.models import Job, TelegramAccount
from accounts.services import session_import
from accounts.services.imports import import_job_create, import_job_run, jobs_prune
from accounts.sessions import InputFile, session_parse_one
from project.actors import SystemActor
from tests import session_makers as make
from tests.jobs import job_run_as_worker

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _stored(key: bytes, team=None) -> TelegramAccount:
    files = [InputFile("a.txt", make.telethon_string(key=key).encode())]
    report = session_import(actor=SystemActor("test"), files=files, team=team)
    return TelegramAccount.objects.get(pk=report.outcomes[0].account_id)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _canary_forms() -> list[str]:
    key = make.CANARY_KEY
    return [key.decode()[:24], key.hex()[:24], base64.b64encode(key).decode()[:24], "CANARY"]


def test_the_api_imports_many_files_and_reports_each(vault, operator, tmp_path) -> None:
    keys = [make.random_key() for _ in range(3)]
    upload = [
        SimpleUploadedFile("one.session", make.telethon_file(tmp_path / "one.session", key=keys[0]).read_bytes()),
        SimpleUploadedFile("two.txt", make.pyrogram_string(key=keys[1]).encode()),
        SimpleUploadedFile("bad.session", b"not a session at all"),
        SimpleUploadedFile("dupe.txt", make.telethon_string(key=keys[0]).encode()),
    ]

    client = _api(operator)
    response = client.post("/api/v1/accounts/import", {"files": upload}, format="multipart")
    assert not TelegramAccount.objects.exists()  # nothing imported inside the request

    job = job_run_as_worker(client, response)

    assert (job["kind"], job["state"], job["processed"], job["total"]) == ("import", "done", 4, 4)
    assert job["summary"] == {"imported": 2, "duplicate": 1, "rejected": 1}
    results = {r["name"]: r for r in job["results"]}
    assert results["bad.session"]["reason"].startswith("not a session")
    assert results["dupe.txt"]["account_id"] == results["one.session"]["account_id"]


def test_the_api_import_needs_files(vault, operator) -> None:
    response = _api(operator).post("/api/v1/accounts/import", {}, format="multipart")

    assert response.status_code == 400
    assert "files" in response.json()


def test_the_api_import_refuses_an_unknown_team(vault, operator, admin_user) -> None:
    def upload(user):
        files = [SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
        return _api(user).post("/api/v1/accounts/import", {"files": files, "team": 999}, format="multipart")

    scoped, admin = upload(operator), upload(admin_user)

    assert (scoped.status_code, scoped.json()) == (403, {"detail": "you may only put accounts in your own teams"})
    assert (admin.status_code, admin.json()) == (400, {"team": ["no such team"]})
    assert not TelegramAccount.objects.exists()


def test_the_api_import_refuses_an_upload_over_the_limit(vault, operator, settings) -> None:
    settings.SESSION_IMPORT_MAX_UPLOAD_BYTES = 4096
    upload = SimpleUploadedFile("big.zip", b"PK\x03\x04" + b"\0" * 10000)

    response = _api(operator).post("/api/v1/accounts/import", {"files": [upload]}, format="multipart")

    assert response.status_code == 400
    assert "over the 4096-byte" in response.json()["detail"]
    assert not TelegramAccount.objects.exists()


def test_a_viewer_cannot_import(vault, viewer) -> None:
    upload = SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())

    response = _api(viewer).post("/api/v1/accounts/import", {"files": [upload]}, format="multipart")

    assert response.status_code == 403
    assert not TelegramAccount.objects.exists()


def test_list_and_detail_show_no_secret(vault, viewer, blue_team) -> None:
    account = _stored(make.CANARY_KEY, blue_team)

    listing = _api(viewer).get("/api/v1/accounts")
    detail = _api(viewer).get(f"/api/v1/accounts/{account.pk}")

    assert listing.status_code == detail.status_code == 200
    assert [a["id"] for a in listing.json()["results"]] == [account.pk]
    assert "vault_name" not in detail.json() and "auth_key_sha256" not in detail.json()
    for form in _canary_forms():
        assert form not in listing.content.decode() + detail.content.decode()


def test_export_is_post_only_and_returns_the_session(vault, operator, blue_team) -> None:
    key = make.random_key()
    account = _stored(key, blue_team)
    client = _api(operator)

    as_get = client.get(f"/api/v1/accounts/{account.pk}/export")
    response = client.post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_session"}, format="json")

    assert as_get.status_code == 405
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="account-{account.pk}.session"'
    assert response["Cache-Control"] == "no-store"
    assert session_parse_one(response.content, name="download").auth_key == key


def test_export_without_the_permission_is_403_and_invisible_is_404(vault, viewer, outsider, blue_team) -> None:
    account = _stored(make.random_key(), blue_team)

    refused = _api(viewer).post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_string"}, format="json")
    hidden = _api(outsider).post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_string"}, format="json")
    hidden_detail = _api(outsider).get(f"/api/v1/accounts/{account.pk}")

    assert refused.status_code == 403
    assert hidden.status_code == hidden_detail.status_code == 404


def test_a_direct_object_permission_scopes_a_role_to_one_account(vault, red_team) -> None:
    from conftest import _user

    user = _user("solo", "operator")
    mine, other = _stored(make.random_key()), _stored(make.random_key())
    assign_perm("accounts.view_telegramaccount", user, mine)
    assign_perm("accounts.export_session", user, mine)

    listing = _api(user).get("/api/v1/accounts")
    exported = _api(user).post(f"/api/v1/accounts/{mine.pk}/export", {"format": "pyrogram_string"}, format="json")
    not_other = _api(user).post(f"/api/v1/accounts/{other.pk}/export", {"format": "pyrogram_string"}, format="json")

    assert [a["id"] for a in listing.json()["results"]] == [mine.pk]
    assert exported.status_code == 200
    assert not_other.status_code == 404


def test_export_refuses_an_unknown_format(vault, operator, blue_team) -> None:
    account = _stored(make.random_key(), blue_team)

    response = _api(operator).post(f"/api/v1/accounts/{account.pk}/export", {"format": "pdf"}, format="json")

    assert response.status_code == 400
    assert "format" in response.json()


def test_anonymous_requests_are_refused(vault) -> None:
    account = _stored(make.random_key())

    listing = APIClient().get("/api/v1/accounts")
    export = APIClient().post(f"/api/v1/accounts/{account.pk}/export", {"format": "telethon_string"})

    assert listing.status_code == export.status_code == 401
    assert listing["WWW-Authenticate"] == "Bearer"


def test_the_admin_queues_an_upload_sealed_and_shows_each_result_once_imported(
    vault, operator, other_operator, blue_team, client
) -> None:
    canary = make.telethon_string(key=make.random_key())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.txt", canary)
        zf.writestr("../evil.txt", make.telethon_string(key=make.random_key()))
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/telegramaccount/import/",
        {"files": [SimpleUploadedFile("batch.zip", buffer.getvalue())], "team": blue_team.pk},
    )

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert job.state == "queued" and job.uploaded == ["batch.zip"] and TelegramAccount.objects.count() == 0
    staged = (vault / job.staged_name).read_bytes()
    assert staged.startswith(b"TGV1F\n") and canary.encode() not in staged and b"a.txt" not in staged
    assert oct((vault / job.staged_name).stat().st_mode & 0o777) == "0o600"
    queued = client.get(f"/admin/accounts/telegramaccount/jobs/{job.pk}/?format=json").json()
    assert queued["state"] == "queued" and queued["results"] == []

    assert import_job_run(str(job.pk)).state == "done"  # what the worker's task does

    done = client.get(f"/admin/accounts/telegramaccount/jobs/{job.pk}/?format=json").json()
    assert done["summary"] == {"imported": 1, "duplicate": 0, "rejected": 1}
    assert (done["processed"], done["total"], done["percent"]) == (2, 2, 100)
    page = client.get(f"/admin/accounts/telegramaccount/jobs/{job.pk}/").content.decode()
    assert "Imported 1, duplicates 0, rejected 1." in page
    assert "batch.zip:../evil.txt" in page and "unsafe path inside zip" in page
    assert TelegramAccount.objects.count() == 1
    assert not (vault / job.staged_name).exists()
    assert canary not in json.dumps(done)
    assert import_job_run(str(job.pk)).state == "done"  # a redelivered task changes nothing
    assert TelegramAccount.objects.count() == 1
    client.force_login(other_operator)
    assert client.get(f"/admin/accounts/telegramaccount/jobs/{job.pk}/?format=json").status_code == 404


def test_an_import_whose_upload_is_gone_fails_with_a_reason(vault, operator) -> None:
    job = import_job_create(actor=operator, files=[InputFile("a.txt", b"x")])
    (vault / job.staged_name).unlink()

    assert import_job_run(str(job.pk)).error == (
        "the uploaded files are gone from the vault (already imported, or removed)"
    )


def test_stale_imports_are_failed_and_their_uploads_deleted(vault, operator) -> None:
    import datetime as dt

    from django.utils import timezone

    job = import_job_create(actor=operator, files=[InputFile("a.txt", b"x")])

    assert jobs_prune(now=timezone.now() + dt.timedelta(hours=1)) == 0
    assert jobs_prune(now=timezone.now() + dt.timedelta(days=2)) == 1
    job.refresh_from_db()
    assert job.state == "failed" and "no worker finished" in job.error
    assert not (vault / job.staged_name).exists()
    assert jobs_prune(now=timezone.now() + dt.timedelta(days=31)) == 1
    assert not Job.objects.exists()


def test_the_admin_export_asks_for_confirmation_then_downloads(vault, operator, client, blue_team) -> None:
    key = make.random_key()
    account = _stored(key, blue_team)
    client.force_login(operator)
    url = f"/admin/accounts/telegramaccount/{account.pk}/export/"

    form = client.get(url)
    unconfirmed = client.post(url, {"format": "telethon_string", "reason": "migration"})
    confirmed = client.post(url, {"format": "telethon_string", "reason": "migration", "confirm": "on"})

    assert form.status_code == 200 and b"whoever holds this file owns the account" in form.content
    assert unconfirmed.status_code == 200 and "attachment" not in unconfirmed.get("Content-Disposition", "")
    assert confirmed.status_code == 200
    assert session_parse_one(confirmed.content, name="dl").auth_key == key


def test_the_admin_refuses_export_without_permission(vault, viewer, client, blue_team) -> None:
    account = _stored(make.random_key(), blue_team)
    client.force_login(viewer)

    page = client.get(f"/admin/accounts/telegramaccount/{account.pk}/change/")
    refused = client.post(f"/admin/accounts/telegramaccount/{account.pk}/export/", {"format": "telethon_string"})

    assert page.status_code == 200 and b"Export session" not in page.content
    assert refused.status_code == 403


def test_the_admin_pages_show_no_secret(vault, superuser, client) -> None:
    account = _stored(make.CANARY_KEY)
    client.force_login(superuser)

    pages = [
        client.get("/admin/accounts/telegramaccount/").content.decode(),
        client.get(f"/admin/accounts/telegramaccount/{account.pk}/change/").content.decode(),
    ]

    for form in _canary_forms():
        assert all(form not in page for page in pages)


def test_the_openapi_schema_describes_import_and_export(superuser) -> None:
    client = APIClient()
    client.force_authenticate(superuser)

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "/api/v1/accounts/import" in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/accounts/{id}/export"]


def test_an_operator_s_import_without_a_team_goes_to_the_operator_s_team(vault, operator, blue_team) -> None:
    upload = SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())

    client = _api(operator)
    response = client.post("/api/v1/accounts/import", {"files": [upload]}, format="multipart")

    assert job_run_as_worker(client, response)["summary"]["imported"] == 1
    account = TelegramAccount.objects.get()
    assert account.team == blue_team
    assert _api(operator).get(f"/api/v1/accounts/{account.pk}").status_code == 200  # still in sight


def test_an_operator_cannot_import_into_another_team(vault, operator, red_team) -> None:
    from audit.models import AuditEvent

    upload = SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())

    response = _api(operator).post(
        "/api/v1/accounts/import", {"files": [upload], "team": red_team.pk}, format="multipart"
    )

    assert response.status_code == 403
    assert "only put accounts in your own teams" in response.json()["detail"]
    assert not TelegramAccount.objects.exists()
    assert AuditEvent.objects.filter(action="session.import", outcome="denied", actor_name="operator").exists()


def test_an_operator_in_two_teams_must_choose_one(vault, operator, red_team) -> None:
    operator.groups.add(red_team.group)
    upload = SimpleUploadedFile("a.txt", make.telethon_string(key=make.random_key()).encode())

    response = _api(operator).post("/api/v1/accounts/import", {"files": [upload]}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {"team": ["choose one of your teams: blue, red"]}
    assert not TelegramAccount.objects.exists()


def test_an_operator_cannot_move_an_account_out_of_their_teams(vault, operator, blue_team, red_team, client) -> None:
    from django.core.exceptions import PermissionDenied

    from accounts.services import account_update

    account = _stored(make.random_key(), blue_team)
    client.force_login(operator)

    response = client.post(
        f"/admin/accounts/telegramaccount/{account.pk}/change/",
        {"label": "moved", "phone": "", "username": "", "notes": "", "team": red_team.pk},
    )

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    with pytest.raises(PermissionDenied):
        account_update(actor=operator, account=account, team=red_team)
    with pytest.raises(PermissionDenied):
        account_update(actor=operator, account=account, team=None)
    stored = TelegramAccount.objects.get(pk=account.pk)
    assert (stored.label, stored.team) == ("a", blue_team)
