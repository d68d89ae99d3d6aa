"""Proxies through the API and the console: team-scoped, audited, secrets in and never out."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Proxy, TelegramAccount
from accounts.services import session_import
from accounts.services.proxies import proxies_import
from accounts.sessions import InputFile
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make
from tests.canaries import PROXY_PASSWORD

pytestmark = [pytest.mark.django_db]


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _accounts(team, count: int = 1) -> list[TelegramAccount]:
    files = [InputFile(f"a{i}.txt", make.telethon_string(key=make.random_key()).encode()) for i in range(count)]
    report = session_import(actor=SYSTEM, files=files, team=team)
    return list(TelegramAccount.objects.filter(pk__in=[o.account_id for o in report.outcomes]).order_by("pk"))


def test_an_operator_adds_a_proxy_for_their_team_and_never_sees_its_password(vault, operator, blue_team) -> None:
    client = _api(operator)

    made = client.post("/api/v1/proxies", {"url": f"socks5://u:{PROXY_PASSWORD}@10.1.1.1:1080", "label": "blue-1",
                                           "team": blue_team.pk, "capacity": 5}, format="json")  # fmt: skip
    listed = client.get("/api/v1/proxies")

    assert made.status_code == 201, made.content
    assert made.json()["has_secret"] is True and made.json()["team"] == "blue" and made.json()["capacity"] == 5
    assert PROXY_PASSWORD not in made.content.decode() + listed.content.decode()
    assert [p["label"] for p in listed.json()["results"]] == ["blue-1"]
    event = AuditEvent.objects.get(action="proxy.create")
    assert event.actor_name == "operator" and PROXY_PASSWORD not in str(event.details)


def test_proxies_follow_teams_like_accounts(vault, operator, viewer, red_team) -> None:
    [red] = proxies_import(actor=SYSTEM, lines=["socks5://10.2.2.2:1080"], team=red_team).created

    hidden = _api(operator).get(f"/api/v1/proxies/{red.pk}")
    into_red = _api(operator).post("/api/v1/proxies", {"url": "http://10.3.3.3:3128", "team": red_team.pk},
                                   format="json")  # fmt: skip
    unknown = _api(operator).post("/api/v1/proxies", {"url": "http://10.3.3.3:3128", "team": red_team.pk + 99},
                                  format="json")  # fmt: skip
    by_viewer = _api(viewer).post("/api/v1/proxies", {"url": "http://10.3.3.3:3128"}, format="json")

    assert hidden.status_code == 404
    assert (into_red.status_code, into_red.json()) == (unknown.status_code, unknown.json()) == (
        403, {"detail": "you may only put accounts in your own teams"})  # fmt: skip
    assert by_viewer.status_code == 403
    assert Proxy.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [("ftp://h:1", "unknown scheme"), ("socks5://h", "port is missing"), ("mtproxy://ab@h:1", "16 bytes")],
)
def test_a_bad_proxy_url_is_a_400_that_names_the_problem_and_stores_nothing(vault, admin_user, url, says) -> None:
    response = _api(admin_user).post("/api/v1/proxies", {"url": url}, format="json")

    assert response.status_code == 400 and says in response.json()["url"][0]
    assert not Proxy.objects.exists() and not AuditEvent.objects.filter(action="proxy.create").exists()


def test_an_account_is_given_a_proxy_through_the_api_and_the_proxy_cannot_go_while_used(vault, operator,
                                                                                      blue_team) -> None:  # fmt: skip
    [account] = _accounts(blue_team)
    [proxy] = proxies_import(actor=SYSTEM, lines=["socks5://10.4.4.4:1080"], team=blue_team).created
    client = _api(operator)

    given = client.patch(f"/api/v1/accounts/{account.pk}", {"proxy": proxy.pk}, format="json")
    refused = client.delete(f"/api/v1/proxies/{proxy.pk}")
    cleared = client.patch(f"/api/v1/accounts/{account.pk}", {"proxy": None}, format="json")
    deleted = client.delete(f"/api/v1/proxies/{proxy.pk}")

    assert (given.status_code, given.json()["proxy"]) == (200, proxy.pk)
    assert refused.status_code == 409 and "carries 1 account" in refused.json()["detail"]
    assert (cleared.json()["proxy"], deleted.status_code) == (None, 204)
    assert [e.details for e in AuditEvent.objects.filter(action="account.proxy").order_by("sequence")] == [
        {"from": None, "to": proxy.pk}, {"from": proxy.pk, "to": None}]  # fmt: skip
    assert AuditEvent.objects.filter(action="proxy.delete", outcome="allowed").count() == 1


def test_the_console_spreads_accounts_over_their_team_s_proxies_within_capacity(vault, operator, blue_team,
                                                                              client) -> None:  # fmt: skip
    accounts = _accounts(blue_team, 5)
    lines = ["socks5://10.5.5.1:1080", "socks5://10.5.5.2:1080"]
    one, two = proxies_import(actor=SYSTEM, lines=lines, team=blue_team, capacity=3).created
    client.force_login(operator)

    client.post("/admin/accounts/telegramaccount/", {"action": "proxy_spread",
                                                     "_selected_action": [a.pk for a in accounts]})  # fmt: skip

    assert sorted([one.accounts.count(), two.accounts.count()]) == [2, 3]
    assert not TelegramAccount.objects.filter(proxy__isnull=True).exists()


def test_the_console_adds_a_proxy_by_url_and_shows_its_accounts(vault, admin_user, blue_team, client) -> None:
    [account] = _accounts(blue_team)
    client.force_login(admin_user)

    url = f"http://u:{PROXY_PASSWORD}@10.6.6.6:3128"
    added = client.post("/admin/accounts/proxy/add/", {"label": "edge", "url": url, "team": blue_team.pk,
                                                       "enabled": "on", "capacity": 4})  # fmt: skip
    proxy = Proxy.objects.get()
    changed = client.post(f"/admin/accounts/telegramaccount/{account.pk}/change/",
                          {"label": account.label, "phone": "", "username": "", "team": blue_team.pk,
                           "proxy": proxy.pk, "notes": ""})  # fmt: skip
    page = client.get(f"/admin/accounts/proxy/{proxy.pk}/change/").content.decode()

    assert added.status_code == changed.status_code == 302
    assert (proxy.kind, proxy.host, proxy.capacity) == ("http", "10.6.6.6", 4)
    assert TelegramAccount.objects.get(pk=account.pk).proxy_id == proxy.pk
    assert account.label in page and PROXY_PASSWORD not in page
    assert AuditEvent.objects.filter(action="admin.accounts.proxy.add").exists()


def test_the_account_list_filters_by_status_and_search_and_refuses_a_bad_filter(vault, operator, blue_team) -> None:
    first, _ = _accounts(blue_team, 2)
    TelegramAccount.objects.filter(pk=first.pk).update(status="banned", label="shop-main")
    client = _api(operator)

    banned = client.get("/api/v1/accounts", {"status": "banned"}).json()["results"]
    found = client.get("/api/v1/accounts", {"search": "SHOP"}).json()["results"]
    bad = client.get("/api/v1/accounts", {"status": "sleepy"})

    assert [a["id"] for a in banned] == [first.pk] == [a["id"] for a in found]
    assert {"last_checked_at", "last_outcome", "consecutive_failures"} <= set(banned[0])
    assert bad.status_code == 400 and "sleepy" in bad.json()["status"][0]


def test_the_api_keeps_an_account_in_one_s_teams_deletes_it_and_shows_its_checks(
    vault, operator, blue_team, red_team, viewer
) -> None:
    from django.utils import timezone

    from accounts.models import CheckRecord

    [account] = _accounts(blue_team)
    CheckRecord.objects.create(account=account, at=timezone.now(), outcome="ok", latency_ms=12)
    client = _api(operator)

    elsewhere = client.patch(f"/api/v1/accounts/{account.pk}", {"team": red_team.pk}, format="json")
    stayed = TelegramAccount.objects.filter(pk=account.pk, team=blue_team).exists()
    checks = client.get(f"/api/v1/accounts/{account.pk}/checks")
    by_viewer = _api(viewer).delete(f"/api/v1/accounts/{account.pk}")
    deleted = client.delete(f"/api/v1/accounts/{account.pk}")

    assert elsewhere.status_code == 403 and stayed
    assert checks.status_code == 200 and [(c["outcome"], c["latency_ms"]) for c in checks.json()["results"]] == [
        ("ok", 12)]  # fmt: skip
    assert by_viewer.status_code == 403 and deleted.status_code == 204
    assert not TelegramAccount.objects.filter(pk=account.pk).exists()
    assert AuditEvent.objects.filter(action="account.delete", outcome="allowed", actor_name="operator").exists()
