"""Schemathesis over the API's own OpenAPI schema, as an admin, an operator and a viewer.

Every generated request goes through the real WSGI app with a real Bearer token: no 5xx, every response
as the schema documents it, and nothing stored from a request that was refused.
"""

import json

import pytest
import schemathesis
from django.apps import apps
from django.core import signals
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from accounts.services import session_import
from accounts.sessions import InputFile
from accounts.tokens import token_create
from conftest import SYSTEM
from project.wsgi import application
from tests import session_makers as make

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]
AUDIT_MODELS = {
    "audit.auditevent",
    "audit.auditchainhead",
    "axes.accessattempt",
    "axes.accesslog",
    "accounts.apitoken",
}  # fmt: skip  (denials are recorded; a token's last use is noted)


def _api_schema():
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = application
    return loaded


schema = _api_schema()


def _row_counts() -> dict[str, int]:
    return {m._meta.label_lower: m.objects.count() for m in apps.get_models()
            if m._meta.label_lower not in AUDIT_MODELS and not m._meta.proxy}  # fmt: skip


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the app must not close the test's database connection between requests."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(params=["admin_user", "operator", "viewer"])
def bearer(request, vault, blue_team, red_team, settings) -> dict[str, str]:
    settings.CHECK_NOW_WAIT_SECONDS = 0  # no worker runs here: a check answers 202 with its job at once
    user = request.getfixturevalue(request.param)
    for team in (blue_team, red_team):
        files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
        session_import(actor=SYSTEM, files=files, team=team)
    _row, token = token_create(actor=user, user=user)
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@hypothesis_settings(max_examples=30, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
def test_the_api_answers_every_generated_request_as_documented(case, bearer) -> None:
    before = _row_counts()

    # positive_data_acceptance is left out: a well-formed id of a team that does not exist, or a file that is
    # not a session, is rightly refused with 400 by meaning, which the schema cannot express.
    response = case.call_and_validate(headers=bearer, excluded_checks=[checks.positive_data_acceptance])

    if response.status_code >= 400:
        assert _row_counts() == before, f"{case.method} {case.path} answered {response.status_code} but stored rows"
