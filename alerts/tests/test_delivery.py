"""Alerts reach chats through the loopback Bot API: once, clearly, paced, and nothing unaccounted for."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.delivery import deliver_sweep
from alerts.models import Alert, Delivery, Notification, Route, Severity, Silence
from alerts.services import alert_raise, alert_resolve
from audit.models import AuditEvent
from tests.botapi_server import TOKEN

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _raise(key: str = "1", kind: str = "account.offline", summary: str = "acc1: network", **details) -> Alert:
    return alert_raise(kind=kind, severity=Severity.CRITICAL, key=key, summary=summary, details=details)


def _states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in Notification.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def _route_stats(name: str) -> dict:
    """What the stats API says of a route (counted from its notification rows)."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_superuser(f"stats-{Route.objects.count()}-{name}"))
    routes = client.get("/api/v1/alerts/stats").json()["routes"]
    return next(r for r in routes if r["name"] == name)


def test_an_alert_reaches_the_default_chat_as_escaped_html(bot) -> None:
    _raise(summary="<b>evil</b> & <script>alert(1)</script>", team="blue")

    report = deliver_sweep()

    [message] = bot.received
    assert (message.chat_id, message.parse_mode) == ("-100500", "HTML")
    assert "&lt;b&gt;evil&lt;/b&gt; &amp; &lt;script&gt;" in message.text and "<script>" not in message.text
    assert "[blue]" in message.text
    assert (report.sent_messages, _states()) == (1, {"sent": 1})
    assert _route_stats("default")["sent"] == 1


def test_repeats_inside_the_cooldown_only_bump_the_counter(bot) -> None:
    _raise()
    deliver_sweep()
    _raise()
    alert = _raise()
    deliver_sweep()

    assert alert.count == 3
    assert len(bot.received) == 1
    assert _states() == {"sent": 1}  # no row, no message for a repeat: the alert counts it
    assert _route_stats("default")["sent"] == 1


def test_a_reminder_goes_out_after_the_repeat_interval(bot) -> None:
    _raise()
    route = Route.objects.get(name="default")
    route.repeat_seconds = 60
    route.save()
    deliver_sweep()
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))

    _raise()
    deliver_sweep()

    assert [m.text.count("🟠") for m in bot.received] == [0, 1]


def test_resolving_sends_a_resolved_message_and_a_quick_flap_sends_nothing(bot) -> None:
    _raise("1")
    deliver_sweep()
    alert_resolve(kind="account.offline", key="1")
    _raise("2")
    alert_resolve(kind="account.offline", key="2")  # resolved before it was ever sent
    deliver_sweep()

    assert len(bot.received) == 2 and "✅" in bot.received[1].text and "acc1" in bot.received[1].text
    assert Notification.objects.filter(alert__key="2").get().state == Delivery.SUPPRESSED


def test_a_silence_mutes_matching_alerts_and_counts_them(bot) -> None:
    Silence.objects.create(kind_pattern="account.*", key_pattern="7", until=timezone.now() + dt.timedelta(hours=1),
                           reason="maintenance")  # fmt: skip
    _raise("7")
    _raise("8")
    deliver_sweep()

    assert len(bot.received) == 1 and "acc1" in bot.received[0].text
    assert _route_stats("default")["silenced"] == 1
    assert _states() == {"sent": 1, "silenced": 1}


def test_routes_match_by_kind_and_severity_and_reach_their_topics(bot) -> None:
    Route.objects.create(name="ops", kind_pattern="account.*", min_severity=Severity.CRITICAL, chat_id="-100600",
                         thread_id=42)  # fmt: skip
    Route.objects.create(name="health", kind_pattern="health.*", chat_id="-100700")
    _raise("1")
    alert_raise(kind="account.offline", severity=Severity.WARNING, key="2", summary="acc2: network")

    deliver_sweep()

    by_chat = {(m.chat_id, m.thread_id): m.text for m in bot.received}
    assert set(by_chat) == {("-100500", None), ("-100600", 42)}
    assert "acc2" not in by_chat[("-100600", 42)]  # below that route's minimum severity


def test_a_429_is_waited_out_and_the_message_resent(bot) -> None:
    bot.then("retry_after:1")
    _raise()

    report = deliver_sweep()

    assert (report.sent_messages, _states()) == (1, {"sent": 1})
    assert len(bot.arrived) == 2 and bot.arrived[1].at - bot.arrived[0].at >= 0.95  # it waited as told
    assert len(bot.received) == 1


def test_a_429_longer_than_the_sweep_defers_the_row_until_its_time(bot) -> None:
    bot.then("retry_after:30")
    _raise()

    report = deliver_sweep(budget_seconds=5)

    row = Notification.objects.get()
    assert (report.sent_messages, row.state, row.attempts) == (0, Delivery.PENDING, 1)
    assert row.next_attempt_at >= timezone.now() + dt.timedelta(seconds=25)
    assert bot.received == []
    assert deliver_sweep().sent_messages == 0  # not before its time, and the chat is blocked too


def test_a_migrated_group_updates_the_route_and_resends(bot) -> None:
    bot.then("migrate:-1009999")
    _raise()

    deliver_sweep()
    deliver_sweep()

    assert Route.objects.get(name="default").chat_id == "-1009999"
    assert [m.chat_id for m in bot.received] == ["-1009999"]
    assert _states() == {"sent": 1}


def test_a_kicked_bot_disables_the_route_and_raises_a_meta_alert(bot) -> None:
    Route.objects.create(name="ops", kind_pattern="account.*", min_severity=Severity.INFO, chat_id="-100600")
    _raise()
    bot.then("ok", "kicked")  # default chat first (more rows sort first by id), then ops

    deliver_sweep()
    deliver_sweep()

    ops = Route.objects.get(name="ops")
    assert not ops.enabled and "kicked" in ops.disabled_reason
    assert Alert.objects.filter(kind="alerts.route_disabled", key="ops").exists()
    assert any("Route ops" in m.text and m.chat_id == "-100500" for m in bot.received)


@pytest.mark.parametrize("answer", ["500", "reset", "slow:5"])
def test_temporary_errors_are_retried_with_backoff(bot, answer) -> None:
    bot.then(answer)
    _raise()

    deliver_sweep()

    row = Notification.objects.get()
    assert (row.state, row.attempts) == (Delivery.PENDING, 1)
    assert row.next_attempt_at > timezone.now() + dt.timedelta(seconds=3)
    assert row.last_error


@pytest.mark.parametrize("answer", ["500", "reset"])
def test_after_a_server_error_or_a_reset_the_retry_delivers_exactly_once(bot, answer) -> None:
    bot.then(answer)
    _raise()
    deliver_sweep()
    Notification.objects.update(next_attempt_at=timezone.now())  # its backoff has passed

    deliver_sweep()
    deliver_sweep()

    assert (len(bot.arrived), len(bot.received)) == (2, 1)
    assert _states() == {"sent": 1}


def test_a_large_group_is_summarised_and_every_alert_accounted_for(bot, settings) -> None:
    settings.ALERT_DIGEST_LIST_LIMIT = 5
    for i in range(30):
        _raise(str(i), summary=f"acc{i}: network", team="blue" if i % 2 else "red")

    deliver_sweep()

    [message] = bot.received
    assert "…and 25 more" in message.text and "By team: " in message.text and "/admin/alerts/alert/" in message.text
    assert sum(f"acc{i}:" in message.text for i in range(30)) == 5
    assert _states() == {"sent": 30}
    assert Notification.objects.filter(summarised=True).count() == 25


def test_a_10000_character_digest_arrives_whole_in_numbered_parts(bot, settings) -> None:
    settings.ALERT_DIGEST_LIST_LIMIT = 200
    summaries = [f"acc{i:03}: " + "x" * 180 for i in range(55)]
    for i, summary in enumerate(summaries):
        _raise(str(i), summary=summary)

    deliver_sweep(budget_seconds=30)

    texts = [m.text for m in bot.received]
    assert sum(len(t) for t in texts) > 10_000 and all(len(t) <= 4096 for t in texts)
    assert [t.splitlines()[0] for t in texts] == [f"<i>(part {i}/{len(texts)})</i>" for i in range(1, len(texts) + 1)]
    joined = "\n".join(texts)
    assert all(summary in joined for summary in summaries)


def test_the_test_endpoint_sends_with_permission_and_is_audited(bot, superuser, viewer) -> None:
    from alerts.services import route_default

    route_default()
    admin = APIClient()
    admin.force_authenticate(superuser)
    refused = APIClient()
    refused.force_authenticate(viewer)

    sent = admin.post("/api/v1/alerts/test", {}, format="json")
    legacy = admin.post("/api/v1/group-ai/telegram-alerts/test", {}, format="json")
    denied = refused.post("/api/v1/alerts/test", {}, format="json")
    stats = admin.get("/api/v1/alerts/stats").json()

    assert sent.status_code == legacy.status_code == 200 and sent.json()["sent"] is True
    assert denied.status_code == 404  # a viewer may not see routes: as if there were none, and recorded
    assert len(bot.received) == 2 and "tgfleet test" in bot.received[0].text
    assert AuditEvent.objects.filter(action="alerts.test", outcome="allowed").count() == 2
    assert AuditEvent.objects.filter(action="alerts.test", outcome="denied").count() == 1
    assert stats["routes"][0]["name"] == "default" and "sent" in stats["overall"]


def test_deliver_alerts_runs_one_sweep(bot, capsys) -> None:
    _raise()

    call_command("deliver_alerts")

    assert "sent 1 message(s) covering 1 notification(s)" in capsys.readouterr().out
    assert len(bot.received) == 1


def test_an_account_transition_raises_and_recovery_resolves(bot, vault, django_capture_on_commit_callbacks) -> None:
    from accounts.models import TelegramAccount
    from accounts.signals import account_statuses_changed

    account = TelegramAccount.objects.create(label="<i>acc</i>", dc_id=2, source_format="telethon_string",
                                             vault_name="x.tgs", auth_key_sha256="f" * 64)  # fmt: skip
    account_statuses_changed.send(sender=TelegramAccount,
                                  changes=[(account, "ok", "banned", "banned: 401 USER_DEACTIVATED_BAN")])  # fmt: skip
    deliver_sweep()
    account_statuses_changed.send(sender=TelegramAccount, changes=[(account, "banned", "ok", "check succeeded")])
    deliver_sweep()

    assert [m.text.count("account.banned") for m in bot.received] == [1, 1]
    assert "&lt;i&gt;acc&lt;/i&gt;" in bot.received[0].text and "✅" in bot.received[1].text
    assert Alert.objects.get(kind="account.banned").state == "resolved"


def test_the_default_route_follows_telegram_chat_id(bot, settings) -> None:
    from alerts.services import route_default

    route_default()
    Route.objects.filter(name="default").update(enabled=False, disabled_reason="403 kicked")
    settings.TELEGRAM_CHAT_ID = "-100777"

    route = route_default()
    _raise()
    deliver_sweep()

    assert (route.chat_id, route.enabled) == ("-100777", True)
    assert [m.chat_id for m in bot.received] == ["-100777"]
    event = AuditEvent.objects.get(action="alerts.route.default_chat")
    assert event.details == {"from": "-100500", "to": "-100777"}


def test_an_unknown_4xx_is_retried_before_it_disables_the_route(bot) -> None:
    bot.then(*["bad:Bad Request: something new"] * 3)
    _raise()
    enabled_after = []
    for _ in range(3):
        deliver_sweep()
        Notification.objects.update(next_attempt_at=timezone.now())
        enabled_after.append(Route.objects.get(name="default").enabled)

    assert enabled_after == [True, True, False]
    assert len(bot.arrived) == 3 and bot.received == []


def test_a_disabled_default_route_is_told_on_every_other_route_and_in_health(bot) -> None:
    from health.checks.builtin import DeliveryCheck

    Route.objects.create(name="ops", kind_pattern="alerts.*", min_severity=Severity.INFO, chat_id="-100600")
    bot.then("kicked", "ok")
    _raise()

    deliver_sweep()
    deliver_sweep()
    finding = DeliveryCheck().run()

    assert not Route.objects.get(name="default").enabled
    assert any(m.chat_id == "-100600" and "Route default" in m.text for m in bot.received)
    assert (finding.ok, finding.message) == (False, "route(s) disabled: default")


def test_without_a_bot_token_alerts_wait_and_go_out_once_it_is_set(bot, settings, client, superuser) -> None:
    from alerts.services import route_default
    from health.checks.builtin import DeliveryCheck

    route_default()
    settings.TELEGRAM_BOT_TOKEN = None
    _raise()

    waiting = deliver_sweep()
    health = DeliveryCheck().run()
    client.force_login(superuser)
    page = client.get("/admin/alerts/route/", follow=True).content.decode()
    test = APIClient()
    test.force_authenticate(superuser)
    refused = test.post("/api/v1/alerts/test", {}, format="json")

    assert (waiting.sent_messages, _states(), bot.received) == (0, {"pending": 1}, [])
    assert not health.ok and "TELEGRAM_BOT_TOKEN is not set: 1 notification(s) wait" in health.message
    assert "TELEGRAM_BOT_TOKEN is not set" in page
    assert refused.status_code == 502 and "TELEGRAM_BOT_TOKEN is not set" in refused.json()["error"]

    settings.TELEGRAM_BOT_TOKEN = TOKEN
    sent = deliver_sweep()

    assert (sent.sent_messages, _states(), len(bot.received)) == (1, {"sent": 1}, 1)
