"""Holes in authentication and its trail, each reproduced: spoofed X-Forwarded-For, floods of unknown tokens,
logins and logouts when the trail cannot be written, names typed into the wrong box, leases kept by a refusal."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import RequestFactory
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from accounts.models import TelegramAccount
from accounts.services import account_check, session_import
from accounts.sessions import InputFile
from accounts.tokens import token_create, token_revoke
from audit.context import RequestContextMiddleware
from audit.models import AuditEvent
from audit.services import AuditUnavailableError, audit_denials_flush, audit_denied
from audit.tests.test_audit_trail import _break_audit_inserts, _repair_audit_inserts
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]
PASSWORD = "correct-horse-battery-9"


def test_only_the_address_our_proxy_appended_is_the_client(client, settings, operator) -> None:
    settings.BEHIND_PROXY, settings.TRUSTED_PROXY_COUNT = True, 1

    client.post("/admin/login/", {"username": "operator", "password": "wrong"},
                HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7", REMOTE_ADDR="10.0.0.2")  # fmt: skip

    assert AuditEvent.objects.filter(action="auth.login", outcome="denied").get().client_ip == "203.0.113.7"


def test_two_proxies_and_a_short_header_fall_back_to_the_peer(client, settings, operator) -> None:
    settings.TRUSTED_PROXY_COUNT = 2

    client.post("/admin/login/", {"username": "operator", "password": "wrong"},
                HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9, 10.0.0.3", REMOTE_ADDR="10.0.0.2")  # fmt: skip
    client.post("/admin/login/", {"username": "operator", "password": "wrong"},
                HTTP_X_FORWARDED_FOR="10.0.0.3", REMOTE_ADDR="10.0.0.2")  # fmt: skip

    ips = list(AuditEvent.objects.filter(action="auth.login").order_by("sequence").values_list("client_ip", flat=True))
    assert ips == ["198.51.100.9", "10.0.0.2"]


def test_unknown_tokens_are_counted_and_logged_at_a_bounded_rate_not_chained(caplog, operator) -> None:
    caplog.set_level(logging.WARNING, logger="accounts.tokens")
    before = REGISTRY.get_sample_value("tgfleet_auth_failures_total", {"kind": "unknown_token"}) or 0
    events = AuditEvent.objects.count()
    api = APIClient()

    answers = {api.get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer tgf_guess{i:04d}").status_code
               for i in range(40)}  # fmt: skip

    assert answers == {401}
    assert AuditEvent.objects.count() == events
    assert REGISTRY.get_sample_value("tgfleet_auth_failures_total", {"kind": "unknown_token"}) == before + 40
    assert len([r for r in caplog.records if "unknown API token" in r.getMessage()]) <= 1


def test_a_revoked_token_is_still_recorded(operator) -> None:
    row, token = token_create(actor=operator, user=operator)
    token_revoke(actor=operator, token=row)

    response = APIClient().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    denied = AuditEvent.objects.get(action="auth.token", outcome="denied")
    assert denied.target_id == str(row.pk) and token not in str(denied.details)


def test_a_login_whose_event_cannot_be_written_fails_whole(client, operator) -> None:
    _break_audit_inserts()
    try:
        with pytest.raises(AuditUnavailableError):
            client.post("/admin/login/", {"username": "operator", "password": PASSWORD})
    finally:
        _repair_audit_inserts()

    assert get_user_model().objects.get(pk=operator.pk).last_login is None
    assert client.get("/admin/").status_code == 302  # not logged in


def test_a_good_login_moves_last_login_with_its_event(client, operator) -> None:
    client.post("/admin/login/", {"username": "operator", "password": PASSWORD})

    assert get_user_model().objects.get(pk=operator.pk).last_login is not None
    assert AuditEvent.objects.filter(action="auth.login", outcome="allowed").count() == 1


def test_logout_works_even_when_its_event_cannot_be_written(client, operator, caplog) -> None:
    client.force_login(operator)
    _break_audit_inserts()
    try:
        response = client.post("/admin/logout/")
    finally:
        _repair_audit_inserts()

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
    assert any("not recorded" in r.getMessage() for r in caplog.records)


def test_a_name_typed_into_the_wrong_box_is_kept_only_as_a_digest(client, operator) -> None:
    client.post("/admin/login/", {"username": "Tr0ub4dor&3-my-password", "password": "x"})
    client.post("/admin/login/", {"username": "operator", "password": "wrong"})

    unknown, known = AuditEvent.objects.filter(action="auth.login").order_by("sequence")
    assert "Tr0ub4dor" not in f"{unknown.target_text}{unknown.details}{unknown.target_id}"
    assert unknown.details["username"].startswith("hmac-sha256:")
    assert (known.target_id, known.target_text) == (str(operator.pk), "operator")


def test_a_check_refused_for_want_of_the_trail_releases_its_lease(vault, telegram_dc) -> None:
    key = make.random_key()
    telegram_dc.add_key(key)
    report = session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=key).encode())])
    account = TelegramAccount.objects.get(pk=report.outcomes[0].account_id)
    _break_audit_inserts()
    try:
        with pytest.raises(AuditUnavailableError):
            account_check(actor=SYSTEM, account=account)
    finally:
        _repair_audit_inserts()

    account.refresh_from_db()
    assert (account.lease_owner, account.lease_expires_at, account.last_checked_at) == ("", None, None)


def test_the_health_page_sends_anonymous_people_to_the_console_login(client) -> None:
    response = client.get("/health/status")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=")


def test_a_denial_inside_a_transaction_that_rolls_back_is_written_when_the_request_ends(viewer) -> None:
    def view(request):
        with transaction.atomic():
            audit_denied(actor=viewer, action="test.refused", target_text="inside")
            raise PermissionDenied("no")

    request = RequestFactory().get("/somewhere", HTTP_X_REQUEST_ID="req-0123456789")
    with pytest.raises(PermissionDenied):
        RequestContextMiddleware(view)(request)

    event = AuditEvent.objects.get(action="test.refused")
    assert (event.outcome, event.actor_name, event.request_id) == ("denied", "viewer", "req-0123456789")


def test_a_denial_inside_a_transaction_that_commits_is_written_with_it(viewer) -> None:
    with transaction.atomic():
        audit_denied(actor=viewer, action="test.refused.committed")
        assert not AuditEvent.objects.filter(action="test.refused.committed").exists()

    assert AuditEvent.objects.filter(action="test.refused.committed", outcome="denied").count() == 1
    assert audit_denials_flush() == 0  # written once, not again
