"""Two-factor sign-in for the console, through the real login form, the real pages and real TOTP codes."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from tests.two_factor import authenticator_enrol, code_now

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-9"


def _password_login(user) -> Client:
    browser = Client()
    answer = browser.post("/admin/login/?next=/admin/", {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302, answer.content[:500]
    return browser


def _events(action: str, outcome: str = "allowed") -> int:
    return AuditEvent.objects.filter(action=action, outcome=outcome).count()


def test_an_admin_without_an_authenticator_must_set_one_up_before_anything_else(admin_user) -> None:
    browser = _password_login(admin_user)

    page = browser.get("/admin/accounts/telegramaccount/")
    api = browser.get("/api/v1/accounts")
    setup = browser.get("/admin/two-factor/setup/")

    assert page.status_code == 302 and page["Location"].startswith("/admin/two-factor/setup/?next=")
    assert api.status_code == 401 and "Two-factor verification is required" in api.json()["detail"]
    secret = re.search(r'class="two-factor-secret">([A-Z2-7 ]+)<', setup.content.decode()).group(1)
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    assert secret.replace(" ", "") in device.config_url and "<svg" in setup.content.decode()

    wrong = browser.post("/admin/two-factor/setup/", {"code": "000000" if code_now(device) != "000000" else "111111"})
    assert "not the one your app shows" in wrong.content.decode()
    assert browser.get("/admin/").status_code == 302 and _events("auth.two_factor.enroll", "denied") == 1
    time.sleep(1.1)  # a wrong code holds the next try back a second (django-otp's throttling)

    done = browser.post("/admin/two-factor/setup/", {"code": code_now(device), "next": "/admin/"})
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert codes, done.content.decode()[-3000:]
    assert len(codes) == 10 and set(codes) == set(StaticToken.objects.values_list("token", flat=True))
    assert browser.get("/admin/accounts/telegramaccount/").status_code == 200
    assert browser.get("/api/v1/accounts").status_code == 200
    assert _events("auth.two_factor.enroll") == 1
    assert secret.replace(" ", "") not in " ".join(str(e.details) for e in AuditEvent.objects.all())


def test_the_next_sign_in_asks_for_a_code_and_a_recovery_code_works_once(superuser) -> None:
    device = authenticator_enrol(superuser)
    from project.console.two_factor import recovery_codes_renew

    codes = recovery_codes_renew(superuser)
    browser = _password_login(superuser)

    asked = browser.get("/admin/")
    wrong = browser.post("/admin/two-factor/verify/", {"code": "12345678"})
    assert asked["Location"].startswith("/admin/two-factor/verify/") and "did not work" in wrong.content.decode()
    assert _events("auth.two_factor.verify", "denied") == 1
    time.sleep(1.1)
    ok = browser.post("/admin/two-factor/verify/", {"code": code_now(device), "next": "/admin/audit/auditevent/"})
    assert ok.status_code == 302 and ok["Location"] == "/admin/audit/auditevent/"
    assert browser.get("/admin/").status_code == 200

    again = _password_login(superuser)
    first = again.post("/admin/two-factor/verify/", {"code": codes[0]})
    reused = _password_login(superuser).post("/admin/two-factor/verify/", {"code": codes[0]})
    assert first.status_code == 302 and "did not work" in reused.content.decode()
    used = AuditEvent.objects.filter(action="auth.two_factor.verify", outcome="allowed").first()
    assert used.details == {"method": "recovery code", "recovery_codes_left": 9}


def test_a_next_url_elsewhere_is_not_followed(superuser) -> None:
    device = authenticator_enrol(superuser)
    browser = _password_login(superuser)

    answer = browser.post("/admin/two-factor/verify/", {"code": code_now(device), "next": "https://evil.example/"})

    assert answer.status_code == 302 and answer["Location"] == "/admin/"


def test_too_many_wrong_codes_slow_down_even_the_right_one(superuser) -> None:
    device = authenticator_enrol(superuser)
    browser = _password_login(superuser)
    wrong = "000000" if code_now(device) != "000000" else "111111"
    for _ in range(3):
        browser.post("/admin/two-factor/verify/", {"code": wrong})

    throttled = browser.post("/admin/two-factor/verify/", {"code": code_now(device)})

    assert "did not work" in throttled.content.decode()  # right, but inside the wait a failure imposes
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    time.sleep(1.1)
    later = browser.post("/admin/two-factor/verify/", {"code": code_now(device, at=time.time() + 30)})
    assert later.status_code == 302


def test_an_operator_may_turn_it_on_and_off_and_an_admin_may_not_turn_it_off(operator, admin_user) -> None:
    browser = _password_login(operator)
    assert browser.get("/admin/").status_code == 200  # optional for an operator
    browser.get("/admin/two-factor/setup/")
    device = TOTPDevice.objects.get(user=operator)
    browser.post("/admin/two-factor/setup/", {"code": code_now(device)})

    later = _password_login(operator)
    assert later.get("/admin/")["Location"].startswith("/admin/two-factor/verify/")  # now it is asked for
    later.post("/admin/two-factor/verify/", {"code": code_now(device, at=time.time() + 30)})
    later.post("/admin/two-factor/", {"action": "remove"})
    assert not TOTPDevice.objects.filter(user=operator).exists()
    assert _password_login(operator).get("/admin/").status_code == 200

    admin_device = authenticator_enrol(admin_user)
    admin = _password_login(admin_user)
    admin.post("/admin/two-factor/verify/", {"code": code_now(admin_device)})
    refused = admin.post("/admin/two-factor/", {"action": "remove"}, follow=True)
    assert "Two-factor sign-in stays on" in refused.content.decode()
    assert TOTPDevice.objects.filter(user=admin_user).exists()
    assert _events("auth.two_factor.remove", "denied") == 1


def test_a_superuser_resets_a_lost_authenticator_from_the_user_list(client, superuser, admin_user) -> None:
    authenticator_enrol(admin_user)
    client.force_login(superuser)

    client.post("/admin/auth/user/", {"action": "two_factor_reset", "_selected_action": [admin_user.pk]})

    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    reset = AuditEvent.objects.get(action="auth.two_factor.remove", outcome="allowed")
    assert reset.actor_id == superuser.pk and reset.target_id == str(admin_user.pk)
    assert _password_login(admin_user).get("/admin/")["Location"].startswith("/admin/two-factor/setup/")


def test_bearer_tokens_are_their_own_credential(admin_user) -> None:
    from accounts.tokens import token_create

    token = token_create(actor=admin_user, user=admin_user)[1]
    answer = Client().get("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert answer.status_code == 200


def test_a_password_alone_can_neither_enrol_a_new_authenticator_nor_turn_it_off(superuser, operator) -> None:
    device = authenticator_enrol(superuser)
    browser = _password_login(superuser)

    setup = browser.get("/admin/two-factor/setup/")
    status = browser.post("/admin/two-factor/", {"action": "remove"})

    assert setup["Location"].startswith("/admin/two-factor/verify/")
    assert status["Location"].startswith("/admin/two-factor/verify/")
    assert list(TOTPDevice.objects.filter(user=superuser)) == [device]  # no second, unconfirmed one either

    optional = authenticator_enrol(operator)
    attacker = _password_login(operator)
    attacker.post("/admin/two-factor/", {"action": "remove"})
    attacker.post("/admin/two-factor/setup/", {"code": "000000"})
    assert list(TOTPDevice.objects.filter(user=operator)) == [optional]
    assert attacker.get("/admin/")["Location"].startswith("/admin/two-factor/verify/")


def test_a_made_up_bearer_header_does_not_open_the_console_to_a_password_only_session(superuser) -> None:
    authenticator_enrol(superuser)
    browser = _password_login(superuser)

    page = browser.get("/admin/accounts/telegramaccount/", HTTP_AUTHORIZATION="Bearer made-up")
    api = browser.get("/api/v1/accounts", HTTP_AUTHORIZATION="Bearer made-up")

    assert page.status_code == 302 and page["Location"].startswith("/admin/two-factor/verify/")
    assert api.status_code == 401
