"""Adding accounts by signing in, through the API, against the loopback DC: a new auth key by the real key exchange,
auth.sendCode / signIn, the two-step password by SRP, PHONE_MIGRATE, and every error as a state."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccountStatus, Login, TelegramAccount
from accounts.services import account_check, session_import
from accounts.services.proxies import proxies_import
from accounts.services.sessions import account_vault_entry
from accounts.sessions import InputFile, SessionFormat
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.canaries import LOGIN_CODE, PROXY_PASSWORD, TWO_STEP_PASSWORD
from tests.proxies import LoopbackSocks5

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
PHONE = "+15550104477"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _start(api, phone=PHONE, **extra):
    return api.post("/api/v1/logins", {"phone": phone, **extra}, format="json")


def _step(api, login_id, step, **data):
    return api.post(f"/api/v1/logins/{login_id}/{step}", data, format="json")


def test_an_operator_signs_an_account_in_with_its_code_and_two_step_password(vault, telegram_dc, operator,
                                                                            blue_team) -> None:  # fmt: skip
    telegram_dc.phones.add(PHONE, 4242, code=LOGIN_CODE, password=TWO_STEP_PASSWORD, hint="the usual", username="bo")
    api = _api(operator)

    started = _start(api, "+1 555 010-4477", team=blue_team.pk)
    assert started.status_code == 201, started.content
    login = started.json()
    assert (login["state"], login["next"], login["code_type"], login["next_type"], login["code_timeout"]) == (
        "code_sent", "code", "app", "sms", 60)  # fmt: skip
    assert login["phone"] == "+155••••••77" and PHONE not in started.content.decode()

    wrong = _step(api, login["id"], "code", code="00000").json()
    assert (wrong["state"], wrong["error"]) == ("code_sent", "PHONE_CODE_INVALID") and "wrong" in wrong["error_text"]
    asked = _step(api, login["id"], "code", code=LOGIN_CODE).json()
    assert (asked["state"], asked["next"], asked["password_hint"]) == ("password_needed", "password", "the usual")
    bad = _step(api, login["id"], "password", password="not-it").json()
    assert (bad["state"], bad["error"]) == ("password_needed", "PASSWORD_HASH_INVALID")
    done = _step(api, login["id"], "password", password=TWO_STEP_PASSWORD)
    assert done.json()["state"] == "done", done.content

    account = TelegramAccount.objects.get(pk=done.json()["account"])
    assert (account.telegram_user_id, account.phone, account.username, account.team, account.dc_id) == (
        4242, PHONE, "bo", blue_team, 2)  # fmt: skip
    assert account.source_format == SessionFormat.LOGIN and account.has_api_hash and not account.has_two_fa
    # The session in the vault is the key the DC made by the key exchange, signed in as this user.
    made = telegram_dc.created[-1]
    entry = account_vault_entry(account)
    assert entry.record.auth_key == made.auth_key.key and made.user_id == 4242 and entry.record.user_id == 4242
    # Every packet spoke as the account's own app and device, the ones it keeps from now on.
    assert {i[0] for i in made.stats.identities} == {account.api_id}
    assert {i[1] for i in made.stats.identities} == {account.device["device"]}
    assert telegram_dc.phones.phones[PHONE[1:]].sent == [(account.api_id, "SentCodeTypeApp")]
    # And it works: a check through the gateway finds it alive.
    assert account_check(actor=SYSTEM, account=account).status == AccountStatus.OK

    events = list(AuditEvent.objects.filter(details__login=login["id"]).order_by("sequence"))
    assert [e.action for e in events] == ["account.login.start", "account.login.code_sent", "account.login.code",
                                          "account.login.code", "account.login.password", "session.login",
                                          "account.login.password"]  # fmt: skip
    assert [e.outcome for e in events if e.action == "account.login.password"] == ["failed", "allowed"]
    trail = json.dumps([e.details for e in events])
    assert TWO_STEP_PASSWORD not in trail and LOGIN_CODE not in trail and PHONE not in trail
    assert events[-1].details["password"] == "used"
    assert Login.objects.get(pk=login["id"]).sealed == b""  # nothing of the sign-in is kept once it is done


def test_a_number_that_lives_in_another_dc_is_moved_there_by_telethon(vault, telegram_dc, admin_user) -> None:
    telegram_dc.phones.add(PHONE, 5151, home_dc=4)
    api = _api(admin_user)
    login = _start(api).json()
    assert login["state"] == "code_sent"
    done = _step(api, login["id"], "code", code="12345").json()
    account = TelegramAccount.objects.get(pk=done["account"])
    entry = account_vault_entry(account)
    assert (account.dc_id, entry.record.dc_id, entry.record.port) == (4, 4, telegram_dc.ports[4])
    assert [k.dc_id for k in telegram_dc.created] == [2, 4]  # a new key in DC 4, as Telethon's _switch_dc makes


@pytest.mark.parametrize(("script", "error", "says"), [
    ({"send_error": "400:PHONE_NUMBER_BANNED"}, "PHONE_NUMBER_BANNED", "banned"),
    ({"send_error": "420:FLOOD_WAIT_300"}, "FLOOD_WAIT", "300 seconds"),
    (None, "PHONE_NUMBER_INVALID", "not a valid phone number"),
])  # fmt: skip
def test_a_refused_number_ends_the_login_with_telegram_s_reason(vault, telegram_dc, operator, script, error,
                                                                says) -> None:  # fmt: skip
    if script is not None:
        telegram_dc.phones.add(PHONE, 1, **script)
    response = _start(_api(operator))
    login = response.json()
    assert response.status_code == 201 and (login["state"], login["error"]) == ("failed", error)
    assert says in login["error_text"] and login["next"] is None
    assert login["flood_wait_seconds"] == (300 if error == "FLOOD_WAIT" else None)
    assert Login.objects.get(pk=login["id"]).sealed == b""
    assert _step(_api(operator), login["id"], "code", code="12345").status_code == 409


def test_an_expired_code_asks_for_another_and_resends_go_app_sms_call_then_stop(vault, telegram_dc, operator) -> None:
    phone = telegram_dc.phones.add(PHONE, 9, code_expired=True)
    api = _api(operator)
    login = _start(api).json()
    expired = _step(api, login["id"], "code", code="12345").json()
    assert (expired["state"], expired["error"]) == ("code_sent", "PHONE_CODE_EXPIRED")
    sms = _step(api, login["id"], "resend").json()
    call = _step(api, login["id"], "resend").json()
    assert [(s["code_type"], s["next_type"]) for s in (sms, call)] == [("sms", "call"), ("call", "")]
    none_left = _step(api, login["id"], "resend").json()
    assert (none_left["state"], none_left["error"]) == ("code_sent", "SEND_CODE_UNAVAILABLE")
    phone.code_expired = False
    assert _step(api, login["id"], "code", code="12345").json()["state"] == "done"


def test_wrong_codes_end_the_login_after_five(vault, telegram_dc, operator) -> None:
    telegram_dc.phones.add(PHONE, 9)
    api = _api(operator)
    login = _start(api).json()
    for _ in range(4):
        assert _step(api, login["id"], "code", code="99999").json()["error"] == "PHONE_CODE_INVALID"
    last = _step(api, login["id"], "code", code="99999").json()
    assert (last["state"], last["error"]) == ("failed", "TOO_MANY_ATTEMPTS") and "start the sign-in again" in last[
        "error_text"]  # fmt: skip
    refused = _step(api, login["id"], "code", code="12345")
    assert refused.status_code == 409 and "failed" in refused.json()["detail"]
    assert Login.objects.get(pk=login["id"]).sealed == b"" and not TelegramAccount.objects.exists()


def test_a_login_is_its_starter_s_alone_and_viewers_and_auditors_may_not_start_one(
    vault, telegram_dc, operator, other_operator, viewer, auditor
) -> None:
    telegram_dc.phones.add(PHONE, 9)
    login = _start(_api(operator)).json()
    other = _api(other_operator)
    assert other.get(f"/api/v1/logins/{login['id']}").status_code == 404
    assert _step(other, login["id"], "code", code="12345").status_code == 404
    assert other.delete(f"/api/v1/logins/{login['id']}").status_code == 404
    for user in (viewer, auditor):
        refused = _start(_api(user))
        assert refused.status_code == 403 and "signing in" in refused.json()["detail"]
    denied = AuditEvent.objects.filter(action="account.login.start", outcome="denied")
    assert set(denied.values_list("actor_name", flat=True)) == {viewer.username, auditor.username}
    assert Login.objects.count() == 1 and TelegramAccount.objects.count() == 0


def test_bad_input_is_refused_naming_the_problem_and_changes_nothing(vault, telegram_dc, operator) -> None:
    api = _api(operator)
    for phone, says in (("12345", "international form"), ("+0123456789", "international form"), ("", "blank")):
        response = _start(api, phone)
        assert response.status_code == 400 and says in json.dumps(response.json()), (phone, response.json())
    assert _start(api, 15550104477).status_code == 400
    assert Login.objects.count() == 0
    telegram_dc.phones.add(PHONE, 9)
    login = _start(api).json()
    assert _step(api, login["id"], "code", code="").status_code == 400
    assert _step(api, login["id"], "code", code="12 34; drop").status_code == 400
    wrong_step = _step(api, login["id"], "password", password="x")
    assert wrong_step.status_code == 409 and "waiting for the code" in wrong_step.json()["detail"]
    assert api.get("/api/v1/logins/not-a-uuid").status_code == 404
    assert Login.objects.get(pk=login["id"]).attempts == 0


def test_a_login_expires_after_ten_minutes_and_keeps_nothing(vault, telegram_dc, operator) -> None:
    telegram_dc.phones.add(PHONE, 9)
    api = _api(operator)
    login = _start(api).json()
    Login.objects.filter(pk=login["id"]).update(expires_at=timezone.now())
    gone = _step(api, login["id"], "code", code="12345")
    assert gone.status_code == 410 and "expired" in gone.json()["detail"]
    assert Login.objects.get(pk=login["id"]).sealed == b""


def test_the_state_between_steps_is_only_the_sealed_row(vault, telegram_dc, operator) -> None:
    """Nothing of the step before lives in memory (each step builds a new client on a new event loop from the
    row, as a restarted worker would), and the row holds neither the number nor Telegram's phone_code_hash
    readably."""
    telegram_dc.phones.add(PHONE, 9)
    login = _start(_api(operator)).json()
    row = Login.objects.get(pk=login["id"])
    [pending_hash] = telegram_dc.phones.codes
    raw = bytes(row.sealed)
    assert raw and PHONE.encode() not in raw and pending_hash.encode() not in raw and PHONE[1:].encode() not in raw
    assert PHONE not in json.dumps(list(Login.objects.values().filter(pk=row.pk)), default=str)
    done = _step(_api(operator), login["id"], "code", code="12345").json()
    assert done["state"] == "done"


def test_a_known_number_is_named_and_replaced_only_when_asked(vault, telegram_dc, operator, blue_team,
                                                              django_capture_on_commit_callbacks) -> None:  # fmt: skip
    old = session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())],
                         team=blue_team).outcomes[0].account_id  # fmt: skip
    TelegramAccount.objects.filter(pk=old).update(phone=PHONE, telegram_user_id=31337)
    before = TelegramAccount.objects.get(pk=old)
    telegram_dc.phones.add(PHONE, 31337)
    api = _api(operator)
    known = _start(api)
    assert known.status_code == 409 and known.json()["account"] == old and "replace" in known.json()["detail"]
    assert Login.objects.count() == 0

    login = _start(api, replace=True).json()
    with django_capture_on_commit_callbacks(execute=True):  # the old file goes once the new one is committed
        done = _step(api, login["id"], "code", code="12345").json()
    assert (done["state"], done["account"], done["replace"]) == ("done", old, old)
    after = TelegramAccount.objects.get(pk=old)
    assert after.auth_key_sha256 != before.auth_key_sha256 and after.vault_name != before.vault_name
    assert account_vault_entry(after).record.auth_key == telegram_dc.created[-1].auth_key.key
    assert TelegramAccount.objects.count() == 1
    assert AuditEvent.objects.filter(action="session.replace", target_id=str(old)).count() == 1
    assert not vault.joinpath(before.vault_name).exists()


def test_signing_in_as_a_user_already_held_offers_to_replace_or_logs_the_new_session_out(
    vault, telegram_dc, operator, blue_team
) -> None:
    old = session_import(actor=SYSTEM, files=[InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())],
                         team=blue_team).outcomes[0].account_id  # fmt: skip
    TelegramAccount.objects.filter(pk=old).update(telegram_user_id=777)  # its phone was never known
    telegram_dc.phones.add(PHONE, 777)
    api = _api(operator)
    login = _start(api).json()
    exists = _step(api, login["id"], "code", code="12345").json()
    assert (exists["state"], exists["next"], exists["account"]) == ("exists", "replace", old)
    assert TelegramAccount.objects.count() == 1
    cancelled = api.delete(f"/api/v1/logins/{login['id']}").json()
    assert cancelled["state"] == "cancelled" and telegram_dc.created[-1].user_id is None  # auth.logOut was sent
    assert telegram_dc.created[-1].stats.requests["LogOutRequest"] == 1


def test_starts_are_rate_limited_per_number(vault, telegram_dc, operator, admin_user) -> None:
    telegram_dc.phones.add(PHONE, 9)
    for _ in range(3):
        assert _start(_api(operator)).status_code == 201
    limited = _start(_api(admin_user))  # another user, the same number
    assert limited.status_code == 429 and limited["Retry-After"] == "3600" and "this number" in limited.json()["detail"]
    assert Login.objects.count() == 3


def test_a_login_through_a_proxy_never_reaches_the_dc_any_other_way(vault, telegram_dc, admin_user) -> None:
    telegram_dc.phones.add(PHONE, 64)
    with LoopbackSocks5(username="u", password=PROXY_PASSWORD) as loopback:
        [proxy] = proxies_import(actor=SYSTEM, lines=[loopback.url]).created
        api = _api(admin_user)
        login = _start(api, proxy=proxy.pk).json()
        done = _step(api, login["id"], "code", code="12345").json()
    assert done["state"] == "done" and TelegramAccount.objects.get(pk=done["account"]).proxy == proxy
    assert loopback.accepted == 2 and telegram_dc.peers == loopback.onward  # both steps, only through the proxy


def test_the_beat_s_prune_ends_sign_ins_left_past_ten_minutes(vault, telegram_dc, operator) -> None:
    from accounts.tasks import jobs_prune_task

    telegram_dc.phones.add(PHONE, 9)
    login = _start(_api(operator)).json()
    jobs_prune_task()
    assert Login.objects.get(pk=login["id"]).state == "code_sent"  # still within its ten minutes
    Login.objects.filter(pk=login["id"]).update(expires_at=timezone.now())
    jobs_prune_task()
    row = Login.objects.get(pk=login["id"])
    assert (row.state, bytes(row.sealed)) == ("expired", b"")


def test_a_dc_that_never_answers_ends_the_step_by_its_deadline(vault, operator, settings) -> None:
    import socket
    import time

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the kernel's backlog), never answers
        settings.TELEGRAM_SERVER_ADDRESS = silent.getsockname()[:2]
        settings.TELEGRAM_LOGIN_TIMEOUT = 2
        started = time.monotonic()
        login = _start(_api(operator)).json()
        took = time.monotonic() - started
    assert (login["state"], login["error"]) == ("failed", "TIMEOUT") and "in time" in login["error_text"]
    assert 2 <= took < 6
    assert not Login.objects.get(pk=login["id"]).busy_until  # released for whoever asks next
