"""The deep check through real MTProto against the loopback DC and its @SpamBot: every classification, its
evidence, the alerts, the schedule, and terminating other sessions."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone

from accounts.models import AccountStanding, AccountStatus, TelegramAccount
from accounts.services import account_check, session_import
from accounts.services.checks import leases_held
from accounts.services.deep_checks import account_deep_check, deep_checks_dispatch, other_sessions_terminate
from accounts.sessions import InputFile
from accounts.telegram.spambot import spambot_classify
from alerts.models import Alert, AlertState
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.mtproto_dc import Behaviour

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]
LIMITED = ("I’m afraid some Telegram users found your messages annoying and forwarded them to our team of moderators "
           "for inspection. The moderators have confirmed the report and your account is now limited until "
           "10 Dec 2026, 12:00 UTC. While the account is limited, you will not be able to send messages to people "
           "who do not have your number in their phone contacts.")  # fmt: skip


def _account(dc, team, behaviour=None) -> tuple[TelegramAccount, object]:
    key = make.random_key()
    dc.add_key(key, behaviour or Behaviour(), user_id=700_000 + len(dc.created) + TelegramAccount.objects.count())
    files = [InputFile("a.txt", make.telethon_string(key=key, address="127.0.0.1").encode())]
    [outcome] = session_import(actor=SYSTEM, files=files, team=team).outcomes
    return TelegramAccount.objects.get(pk=outcome.account_id), dc.standing(key)


def test_a_deep_check_reads_flags_two_step_and_other_sessions_and_alerts_on_a_new_one(vault, telegram_dc,
                                                                                      blue_team) -> None:  # fmt: skip
    account, held = _account(telegram_dc, blue_team)
    held.restricted, held.restriction_reasons = True, [("android", "spam", "Reported for spam")]
    held.two_step = True
    held.other(111, "Old laptop", "Netherlands", created=int(time.time()) - 86400 * 30)  # before the import
    held.other(222, "iPhone 15 Pro", "Germany", ip="198.51.100.4")  # after it

    done = account_deep_check(actor=SYSTEM, account=account)

    s = AccountStanding.objects.get(account=account)
    assert done.outcome == "ok" and (s.restricted, s.scam, s.fake, s.two_step) == (True, False, False, True)
    assert s.restriction_reasons == [{"platform": "android", "reason": "spam", "text": "Reported for spam"}]
    assert s.other_sessions == 2 and [a["device"] for a in s.authorizations] == ["tgfleet", "Old laptop",
                                                                                  "iPhone 15 Pro"]  # fmt: skip
    assert [a["new"] for a in s.authorizations] == [False, False, True]  # only the one after the import is news
    assert s.frozen is False and s.spam_blocked is None and held.spambot_messages == []  # team did not opt in
    assert {e["signal"] for e in s.evidence} == {"restricted"} and s.evidence[0]["method"] == "users.getUsers"
    [alert] = Alert.objects.filter(kind="account.new_session")
    assert alert.key == f"{account.pk}:222" and "iPhone 15 Pro" in alert.summary and "Germany" in alert.summary
    assert AuditEvent.objects.filter(action="account.deep_check", target_id=str(account.pk)).count() == 1
    account_deep_check(actor=SYSTEM, account=account)  # the same sessions again: no new alert
    assert Alert.objects.filter(kind="account.new_session").count() == 1


@pytest.mark.parametrize(("answer", "blocked", "kind", "until"), [
    ("Good news, no limits are currently applied to your account. You’re free as a bird!", False, "free", None),
    (LIMITED, True, "limited_until", dt.datetime(2026, 12, 10, 12, 0, tzinfo=dt.UTC)),
    ("Unfortunately, your account is now limited. You can only send messages to mutual contacts.", True,
     "limited", None),
    ("Your account was blocked for violations of the Telegram Terms of Service.", True, "tos_blocked", None),
    ("Your phone number was flagged as suspicious by our anti-spam systems.", True, "phone_flagged", None),
    ("Здравствуйте! Что-то новое.", None, "unknown", None),
])  # fmt: skip
def test_spambot_s_answer_is_classified_kept_and_audited(vault, telegram_dc, blue_team, answer, blocked, kind,
                                                         until) -> None:  # fmt: skip
    blue_team.spambot_checks = True
    blue_team.save()
    account, held = _account(telegram_dc, blue_team)
    held.spambot = answer

    account_deep_check(actor=SYSTEM, account=account)

    s = AccountStanding.objects.get(account=account)
    assert (s.spam_blocked, s.spam_kind, s.spam_until, s.spam_text) == (blocked, kind, until, answer)
    assert held.spambot_messages == ["/start"]
    assert AuditEvent.objects.filter(action="account.spambot", target_id=str(account.pk)).count() == 1
    assert Alert.objects.filter(kind="account.spam_blocked", state=AlertState.FIRING).exists() == bool(blocked)
    account_deep_check(actor=SYSTEM, account=account)  # the same day: @SpamBot is not asked again
    assert held.spambot_messages == ["/start"]


def test_peer_flood_while_writing_to_spambot_is_spam_block_evidence(vault, telegram_dc, blue_team) -> None:
    blue_team.spambot_checks = True
    blue_team.save()
    account, held = _account(telegram_dc, blue_team)
    held.peer_flood = True
    account_deep_check(actor=SYSTEM, account=account)
    s = AccountStanding.objects.get(account=account)
    assert (s.spam_blocked, s.spam_kind) == (True, "peer_flood")
    assert {"signal": "spam_blocked", "method": "messages.sendMessage", "answer": "400 PEER_FLOOD"}.items() <= (
        s.evidence[0].items())  # fmt: skip


def test_a_frozen_account_is_known_by_the_420_and_the_app_config_and_reminded(vault, telegram_dc, blue_team) -> None:
    account, held = _account(telegram_dc, blue_team)
    until = int(time.time()) + 5 * 86400
    held.frozen = (int(time.time()) - 86400, until, "https://t.me/spambot?start=appeal")

    account_deep_check(actor=SYSTEM, account=account)

    s = AccountStanding.objects.get(account=account)
    assert s.frozen is True and s.freeze_until == dt.datetime.fromtimestamp(until, dt.UTC)
    assert s.freeze_appeal_url == "https://t.me/spambot?start=appeal"
    signals = [(e["signal"], e["method"]) for e in s.evidence]
    assert ("frozen", "account.getAuthorizations") in signals and ("frozen", "help.getAppConfig") in signals
    assert Alert.objects.get(kind="account.frozen").severity == 30
    reminders = Alert.objects.filter(kind="account.freeze_deadline")
    assert [a.key for a in reminders] == [f"{account.pk}:week"] and "appeal" in reminders[0].summary
    held.frozen = None
    account_deep_check(actor=SYSTEM, account=account)
    assert AccountStanding.objects.get(account=account).frozen is False
    assert Alert.objects.get(kind="account.frozen").state == AlertState.RESOLVED


@pytest.mark.parametrize(("config", "frozen_error", "expected"), [
    ("not_modified", False, None), ("malformed", False, None), ("malformed", True, True), ("ok", False, False),
])  # fmt: skip
def test_an_unreadable_app_config_means_unknown_never_not_frozen(vault, telegram_dc, blue_team, config,
                                                                 frozen_error, expected) -> None:  # fmt: skip
    account, held = _account(telegram_dc, blue_team)
    held.app_config = config
    if frozen_error:
        held.frozen = (1, 2, "x")
    account_deep_check(actor=SYSTEM, account=account)
    assert AccountStanding.objects.get(account=account).frozen is expected


def test_frozen_method_invalid_on_the_liveness_check_is_no_flood_wait(vault, telegram_dc, blue_team) -> None:
    account, _held = _account(telegram_dc, blue_team, Behaviour.error(420, "FROZEN_METHOD_INVALID"))
    done = account_check(actor=SYSTEM, account=account)
    account.refresh_from_db()
    assert (done.result.outcome, account.status, account.flood_wait_until) == ("ok", AccountStatus.OK, None)
    assert "FROZEN_METHOD_INVALID" in done.result.detail


def test_terminating_other_sessions_keeps_ours_and_is_audited(vault, telegram_dc, blue_team, viewer,
                                                              operator) -> None:  # fmt: skip
    account, held = _account(telegram_dc, blue_team)
    held.other(333, "Unknown PC", "Brazil")
    account_deep_check(actor=SYSTEM, account=account)
    with pytest.raises(PermissionDenied):
        other_sessions_terminate(actor=viewer, account=account)
    assert held.others

    assert other_sessions_terminate(actor=operator, account=account) is None
    assert held.others == [] and AccountStanding.objects.get(account=account).other_sessions == 0
    assert account_check(actor=SYSTEM, account=account).status == AccountStatus.OK  # our own session lives on
    assert Alert.objects.get(kind="account.new_session").state == AlertState.RESOLVED
    events = AuditEvent.objects.filter(action="account.sessions_reset").order_by("sequence")
    assert [(e.actor_name, e.outcome) for e in events] == [(viewer.username, "denied"), (operator.username, "allowed")]

    held.other(444, "Fresh", "Chile")
    held.reset_forbidden = True
    assert other_sessions_terminate(actor=operator, account=account) == "FRESH_RESET_AUTHORISATION_FORBIDDEN"
    assert events.last().outcome == "failed" and held.others


def test_terminating_other_sessions_of_an_account_whose_session_is_gone_is_a_failed_audited_attempt(
    vault, telegram_dc, blue_team, operator
) -> None:
    from accounts.vault.storage import session_storage

    account, held = _account(telegram_dc, blue_team)
    held.other(333, "Unknown PC", "Brazil")
    session_storage().delete(account.vault_name)

    assert other_sessions_terminate(actor=operator, account=account) == (
        "its session cannot be read (No such file or directory)"
    )
    event = AuditEvent.objects.filter(action="account.sessions_reset").get()
    assert (event.actor_name, event.outcome) == (operator.username, "failed")
    assert held.others  # nothing was asked of Telegram
    assert not TelegramAccount.objects.exclude(lease_owner="").exists()


def test_dispatch_spreads_new_accounts_and_skips_those_being_checked(vault, telegram_dc, blue_team) -> None:
    accounts = [_account(telegram_dc, blue_team)[0] for _ in range(4)]
    TelegramAccount.objects.update(status=AccountStatus.OK)
    now = timezone.now()
    assert deep_checks_dispatch(now=now) == []  # each gets a standing, due within the next quarter day
    due = AccountStanding.objects.order_by("next_at").values_list("next_at", flat=True)
    assert len(due) == 4 and all(now <= t <= now + dt.timedelta(hours=6) for t in due)
    AccountStanding.objects.update(next_at=now)
    with leases_held([accounts[0].pk], owner="liveness"):
        batches = deep_checks_dispatch(now=now + dt.timedelta(seconds=1))
    assert sorted(pk for batch in batches for pk in batch) == sorted(a.pk for a in accounts[1:])
    assert deep_checks_dispatch(now=now + dt.timedelta(seconds=2)) == [[accounts[0].pk]]  # its turn comes


def test_check_accounts_deep_prints_each_account_s_standing(vault, telegram_dc, blue_team, capsys) -> None:
    account, held = _account(telegram_dc, blue_team)
    held.scam = True
    call_command("check_accounts", str(account.pk), "--deep")
    out = capsys.readouterr().out
    assert f"{account.pk} {account.label}: ok; spam-blocked unknown, frozen no, flags scam, two-step no, " \
           "other sessions 0" in out  # fmt: skip


def test_the_spambot_table_reads_dates_and_keeps_what_it_does_not_know() -> None:
    assert spambot_classify(LIMITED).until == dt.datetime(2026, 12, 10, 12, tzinfo=dt.UTC)
    assert spambot_classify("your account is now limited until sometime soon").kind == "limited"
    assert spambot_classify("").blocked is None


def test_the_console_the_api_and_metrics_show_what_was_found(vault, telegram_dc, blue_team, operator, client,
                                                            settings) -> None:  # fmt: skip
    from rest_framework.test import APIClient

    blue_team.spambot_checks = True
    blue_team.save()
    account, held = _account(telegram_dc, blue_team)
    clean, _ = _account(telegram_dc, blue_team)
    held.spambot, held.two_step = LIMITED, True
    held.other(555, "Galaxy S9", "Peru")
    held.frozen = (int(time.time()), int(time.time()) + 30 * 86400, "https://t.me/spambot?start=appeal")
    held.app_config = "ok"
    account_deep_check(actor=SYSTEM, account=account)
    held.frozen = None  # frozen accounts are not asked about spam: thaw it and ask again the next day
    AccountStanding.objects.filter(account=account).update(spambot_asked_at=None)
    account_deep_check(actor=SYSTEM, account=account)
    account_deep_check(actor=SYSTEM, account=clean)

    client.force_login(operator)
    page = client.get(f"/admin/accounts/telegramaccount/{account.pk}/change/").content.decode()
    assert 'id="standing-spam">yes (limited_until, until 2026-12-10 12:00 UTC)' in page
    assert "Galaxy S9" in page and 'id="sessions-reset"' in page and "Evidence" in page
    listed = client.get("/admin/accounts/telegramaccount/?standing__spam_blocked__exact=1").content.decode()
    assert f"/{account.pk}/change/" in listed and f"/{clean.pk}/change/" not in listed
    others = client.get("/admin/accounts/telegramaccount/?standing=other_sessions").content.decode()
    assert f"/{account.pk}/change/" in others and f"/{clean.pk}/change/" not in others
    assert client.get("/admin/accounts/telegramaccount/?standing=nonsense").status_code in (302, 400)
    dashboard = client.get("/admin/").content.decode()
    assert 'id="standing-tiles"' in dashboard and "Spam-blocked" in dashboard

    api = APIClient()
    api.force_authenticate(operator)
    found = api.get("/api/v1/accounts?spam_blocked=true").json()
    assert [a["id"] for a in found["results"]] == [account.pk]
    standing = found["results"][0]["standing"]
    assert (standing["spam_blocked"], standing["two_step"], standing["other_sessions"]) == (True, True, 1)
    assert api.get("/api/v1/accounts?frozen=false").json()["count"] == 2
    assert api.get("/api/v1/accounts?spam_blocked=maybe").status_code == 400

    settings.METRICS_TOKEN = "scrape-" + "m" * 40
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}").content.decode()
    assert 'tgfleet_accounts_restricted{restriction="spam_blocked"} 1.0' in text
    assert 'tgfleet_accounts_restricted{restriction="other_sessions"} 1.0' in text
    assert 'tgfleet_accounts_restricted{restriction="frozen"} 0.0' in text


def test_the_reset_page_asks_for_confirmation_and_then_signs_the_others_out(vault, telegram_dc, blue_team, operator,
                                                                           client) -> None:  # fmt: skip
    account, held = _account(telegram_dc, blue_team)
    held.other(666, "Unknown PC", "Brazil")
    account_deep_check(actor=SYSTEM, account=account)
    client.force_login(operator)
    url = f"/admin/accounts/telegramaccount/{account.pk}/sessions-reset/"
    assert "Unknown PC" in client.get(url).content.decode()
    unconfirmed = client.post(url, {})
    assert unconfirmed.status_code == 200 and held.others  # nothing without the box ticked
    done = client.post(url, {"confirm": "on"}, follow=True)
    assert "Every other session" in done.content.decode() and held.others == []
