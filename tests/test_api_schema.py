"""Every operation in the OpenAPI schema, called for real, answers exactly as the schema documents it.

Scripted requests (success and the common errors) go through the real app with a Bearer token; each response
is checked by schemathesis against its operation: status documented, media type, body shape. A new operation
without a request here fails the coverage assertion, so the schema cannot drift from the API unnoticed.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tokens import token_create
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(180)]


def _schema():
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    return raw, schemathesis.openapi.from_dict(raw)


class Caller:
    """Calls one operation as documented (path template, method) and validates the real response."""

    def __init__(self, schema, token: str | None) -> None:
        self.schema, self.covered = schema, set()
        self.client = APIClient()
        if token:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def __call__(self, method: str, template: str, expect: int, path: str | None = None, **kwargs):
        url = path or template
        response = getattr(self.client, method.lower())(url, **kwargs)
        assert response.status_code == expect, (method, url, response.status_code, response.content[:300])
        content = b"".join(response.streaming_content) if response.streaming else response.content
        media = response.get("Content-Type", "").split(";")[0]
        prepared = requests.Request(method, "http://testserver" + url).prepare()
        headers = {name: [value] for name, value in response.headers.items()}
        checked = schemathesis.Response(status_code=response.status_code, headers=headers, content=content,
                                        request=prepared, elapsed=0.0, verify=True)  # fmt: skip
        self.schema[template][method].validate_response(checked)
        self.covered.add((template, method))
        return json.loads(content) if media == "application/json" else content


def _accounts(team, n: int) -> list[TelegramAccount]:
    files = [InputFile(f"{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(n)]
    session_import(actor=SYSTEM, files=files, team=team)
    return list(TelegramAccount.objects.filter(team=team).order_by("pk"))


def test_every_operation_answers_as_its_schema_says(admin_user, viewer, blue_team, vault, bot, settings,
                                                   telegram_dc) -> None:  # fmt: skip
    settings.CHECK_NOW_WAIT_SECONDS = 0  # no worker here: a check answers 202 with its job
    raw, schema = _schema()
    first, second = _accounts(blue_team, 2)
    call = Caller(schema, token_create(actor=admin_user, user=admin_user)[1])
    one = "/api/v1/accounts/{id}"

    listed = call("GET", "/api/v1/accounts", 200, path="/api/v1/accounts?status=ok&status=unchecked&search=")
    assert listed["count"] == 2
    call("GET", "/api/v1/accounts", 400, path="/api/v1/accounts?status=nope")
    call("GET", one, 200, path=f"/api/v1/accounts/{first.pk}")
    call("GET", one, 404, path="/api/v1/accounts/999999")
    call("PATCH", one, 200, path=f"/api/v1/accounts/{first.pk}", data={"label": "renamed"}, format="json")
    call("PATCH", one, 400, path=f"/api/v1/accounts/{first.pk}", data={"team": 999999}, format="json")
    call("DELETE", one, 204, path=f"/api/v1/accounts/{second.pk}")
    job = call("POST", one + "/check", 202, path=f"/api/v1/accounts/{first.pk}/check")
    call("GET", one + "/checks", 200, path=f"/api/v1/accounts/{first.pk}/checks")
    call("POST", one + "/export", 200, path=f"/api/v1/accounts/{first.pk}/export",
         data={"format": "telethon_string"}, format="json")  # fmt: skip
    known = make.random_key()
    telegram_dc.add_key(known)
    text = make.telethon_string(key=known, address="127.0.0.1").encode()
    [live] = session_import(actor=SYSTEM, files=[InputFile("live.txt", text)], team=blue_team).outcomes
    reset = call("POST", one + "/sessions-reset", 200, path=f"/api/v1/accounts/{live.account_id}/sessions-reset")
    assert reset == {"done": True, "error": ""}
    refused = call("POST", one + "/sessions-reset", 200, path=f"/api/v1/accounts/{first.pk}/sessions-reset")
    assert refused["done"] is False and refused["error"]  # a key the DC does not know
    call("POST", one + "/export", 400, path=f"/api/v1/accounts/{first.pk}/export", data={"format": "x"}, format="json")
    upload = InputFile("new.txt", make.telethon_string(key=make.random_key()).encode())
    imported = call("POST", "/api/v1/accounts/import", 202, data={"files": [_file(upload)], "team": blue_team.pk},
                    format="multipart")  # fmt: skip
    call("POST", "/api/v1/accounts/import", 415, data="{}", content_type="application/json")
    call("GET", "/api/v1/jobs/{id}", 200, path=f"/api/v1/jobs/{imported['id']}")
    call("GET", "/api/v1/jobs/{id}", 200, path=f"/api/v1/jobs/{job['id']}")
    call("GET", "/api/v1/jobs/{id}", 404, path="/api/v1/jobs/999999")

    call("GET", "/api/v1/alerts/stats", 200)
    call("POST", "/api/v1/alerts/test", 200, data={}, format="json")
    call("POST", "/api/v1/alerts/test", 404, data={"route": 999999}, format="json")
    settings.TELEGRAM_BOT_TOKEN = None
    call("POST", "/api/v1/alerts/test", 502, data={}, format="json")

    call("GET", "/api/v1/audit/events", 200, path="/api/v1/audit/events?outcome=allowed&since=2020-01-01T00:00:00Z")
    call("GET", "/api/v1/audit/events", 400, path="/api/v1/audit/events?since=yesterday")
    # An offset Python reads but PostgreSQL refuses (beyond ±15:59), and one that leaves the calendar in UTC.
    call("GET", "/api/v1/audit/events", 200, path="/api/v1/audit/events?since=0031-07-10T08:02:25.5%2B19:51")
    call("GET", "/api/v1/audit/events", 400, path="/api/v1/audit/events?since=0001-01-01T00:00:00%2B19:51")
    empty = call("GET", "/api/v1/audit/events", 400, path="/api/v1/audit/events?outcome=&actor=")
    assert empty == {"outcome": ["outcome was given empty; leave it out, or give a value"]}  # free text may be
    lines = call("GET", "/api/v1/audit/events.jsonl", 200, path="/api/v1/audit/events.jsonl?action=account.delete")
    assert [json.loads(line)["action"] for line in lines.decode().splitlines()] == ["account.delete"]

    proxy = call("POST", "/api/v1/proxies", 201, data={"url": "socks5://10.9.9.9:1080", "label": "p"}, format="json")
    call("POST", "/api/v1/proxies", 400, data={"url": "ftp://10.9.9.9"}, format="json")
    call("GET", "/api/v1/proxies", 200)
    call("GET", "/api/v1/proxies/{id}", 200, path=f"/api/v1/proxies/{proxy['id']}")
    call("PATCH", "/api/v1/proxies/{id}", 200, path=f"/api/v1/proxies/{proxy['id']}", data={"label": "q"},
         format="json")  # fmt: skip
    call("DELETE", "/api/v1/proxies/{id}", 204, path=f"/api/v1/proxies/{proxy['id']}")

    # Signing an account in, against the loopback DC: a number with a two-step password, one Telegram refuses.
    telegram_dc.phones.add("+15550109999", 8080, password="pw-for-the-schema")
    telegram_dc.phones.add("+15550108888", 8081, send_error="400:PHONE_NUMBER_BANNED")
    login, step = "/api/v1/logins/{id}", "/api/v1/logins/{id}/"
    started = call("POST", "/api/v1/logins", 201, data={"phone": "+15550109999", "team": blue_team.pk}, format="json")
    at = login.replace("{id}", started["id"])
    call("POST", "/api/v1/logins", 400, data={"phone": "12"}, format="json")
    TelegramAccount.objects.filter(pk=first.pk).update(phone="+15550101010")
    known = call("POST", "/api/v1/logins", 409, data={"phone": "+15550101010"}, format="json")
    assert known["account"] == first.pk
    call("GET", login, 200, path=at)
    call("GET", login, 404, path=login.replace("{id}", "00000000-0000-0000-0000-000000000000"))
    call("POST", step + "resend", 200, path=at + "/resend")
    call("POST", step + "password", 409, path=at + "/password", data={"password": "x"}, format="json")
    call("POST", step + "code", 400, path=at + "/code", data={"code": ""}, format="json")
    call("POST", step + "code", 200, path=at + "/code", data={"code": "12345"}, format="json")
    call("POST", step + "password", 200, path=at + "/password", data={"password": "pw-for-the-schema"}, format="json")
    call("POST", step + "replace", 409, path=at + "/replace")
    call("DELETE", login, 409, path=at)
    banned = call("POST", "/api/v1/logins", 201, data={"phone": "+15550108888", "team": blue_team.pk}, format="json")
    assert banned["state"] == "failed"

    # Without credentials, and as a viewer who may not change anything: the documented 401 and 403.
    anonymous = Caller(schema, None)
    anonymous("GET", "/api/v1/accounts", 401)
    as_viewer = Caller(schema, token_create(actor=viewer, user=viewer)[1])
    as_viewer("DELETE", one, 403, path=f"/api/v1/accounts/{first.pk}")
    as_viewer("POST", "/api/v1/logins", 403, data={"phone": "+15550107777"}, format="json")

    documented = {(path, method.upper()) for path, item in raw["paths"].items() for method in item}
    assert documented == call.covered, documented ^ call.covered


def _file(upload: InputFile):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(upload.name, upload.data, content_type="application/octet-stream")


def test_the_schema_names_each_operation_plainly_and_leaves_out_the_legacy_alias() -> None:
    raw = _schema()[0]
    operations = [op for item in raw["paths"].values() for op in item.values()]

    assert all(op["operationId"].replace("_", "").isalnum() for op in operations)
    tags = {"accounts", "alerts", "audit", "jobs", "logins", "proxies"}
    assert {tag for op in operations for tag in op["tags"]} == tags
    assert not any("group-ai" in path for path in raw["paths"])
    stats = raw["components"]["schemas"]["AlertStats"]
    assert stats["type"] == "object" and {"overall", "routes"} <= set(stats["properties"])


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/accounts/not-a-number"])
def test_unknown_api_paths_answer_json(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_the_api_docs_page_loads_swagger_from_our_own_static_files(client, admin_user) -> None:
    client.force_login(admin_user)
    page = client.get("/api/docs/")
    html = page.content.decode()

    assert page.status_code == 200 and "swagger-ui" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html and "jsdelivr" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_a_body_django_refuses_before_any_view_still_answers_json(client, admin_user, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(admin_user)
    response = client.post("/api/v1/proxies", data=json.dumps({"label": "x" * 5000}), content_type="application/json")

    assert response.status_code in (400, 413) and response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
