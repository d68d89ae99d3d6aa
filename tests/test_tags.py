"""Tags on accounts (bulk in the console, set through the API, a filter of both) and saved list views."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import SavedFilter, Tag, TelegramAccount
from accounts.services import session_import
from accounts.sessions import InputFile
from audit.models import AuditEvent
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(vault, blue_team, red_team) -> dict[str, TelegramAccount]:
    made = {}
    for label, team in (("blue-1", blue_team), ("blue-2", blue_team), ("red-1", red_team)):
        files = [InputFile(f"{label}.txt", make.telethon_string(key=make.random_key()).encode())]
        pk = session_import(actor=SYSTEM, files=files, team=team).outcomes[0].account_id
        TelegramAccount.objects.filter(pk=pk).update(label=label)
        made[label] = TelegramAccount.objects.get(pk=pk)
    return made


def _bulk(client, ids, **fields):
    data = {"action": "tags_edit", "_selected_action": ids, "apply": "1", **fields}
    return client.post("/admin/accounts/telegramaccount/", data, follow=True)


def test_an_operator_tags_their_accounts_in_bulk_and_filters_by_tag(accounts, operator, client) -> None:
    client.force_login(operator)
    blue = [accounts["blue-1"].pk, accounts["blue-2"].pk]

    form = client.post("/admin/accounts/telegramaccount/", {"action": "tags_edit", "_selected_action": blue})
    done = _bulk(client, blue, add="warmed, client:acme")
    removed = _bulk(client, [accounts["blue-2"].pk], remove="warmed")
    listed = client.get(f"/admin/accounts/telegramaccount/?tags__id__exact={Tag.objects.get(name='warmed').pk}")

    assert b"Add or remove tags" in form.content
    assert b"Tags changed on 2 account(s)" in done.content and b"Tags changed on 1 account(s)" in removed.content
    assert set(Tag.objects.values_list("name", flat=True)) == {"warmed", "client:acme"}
    assert list(accounts["blue-1"].tags.values_list("name", flat=True)) == ["client:acme", "warmed"]
    assert list(accounts["blue-2"].tags.values_list("name", flat=True)) == ["client:acme"]
    assert b"blue-1" in listed.content and b"blue-2" not in listed.content
    event = AuditEvent.objects.filter(action="account.tags", outcome="allowed").order_by("sequence").first()
    assert event.details["added"] == ["client:acme", "warmed"] and event.details["new_tags"] == [
        "client:acme",
        "warmed",
    ]


def test_a_bulk_tag_with_an_account_one_may_not_change_tags_nothing(accounts, operator, viewer, client) -> None:
    client.force_login(operator)
    mixed = _bulk(client, [accounts["blue-1"].pk, accounts["red-1"].pk], add="x")  # red-1: not visible, not listed
    refused = _bulk(client, [accounts["blue-1"].pk], add="bad/name")

    assert not TelegramAccount.tags.through.objects.filter(telegramaccount_id=accounts["red-1"].pk).exists()
    assert b"is not a tag name" in refused.content
    assert "bad/name" not in set(Tag.objects.values_list("name", flat=True))
    assert mixed.status_code == 200
    from accounts.services.tags import TagError, accounts_tags_edit

    with pytest.raises(TagError, match="not yours to change"):
        accounts_tags_edit(actor=operator, accounts=[accounts["blue-2"], accounts["red-1"]], add=["y"])
    assert not accounts["blue-2"].tags.exists()
    with pytest.raises(TagError, match="not yours to change"):
        accounts_tags_edit(actor=viewer, accounts=[accounts["blue-2"]], add=["y"])
    assert AuditEvent.objects.filter(action="account.tags", outcome="denied").count() == 2


def test_the_api_sets_an_accounts_tags_and_filters_by_one(accounts, operator) -> None:
    api = APIClient()
    api.force_authenticate(operator)
    one = accounts["blue-1"].pk

    first = api.patch(f"/api/v1/accounts/{one}", {"tags": ["warmed", "eu"]}, format="json")
    second = api.patch(f"/api/v1/accounts/{one}", {"tags": ["eu"]}, format="json")
    bad = api.patch(f"/api/v1/accounts/{one}", {"tags": ["a" * 41]}, format="json")
    by_tag = api.get("/api/v1/accounts?tag=eu")
    none = api.get("/api/v1/accounts?tag=warmed")

    assert first.json()["tags"] == ["eu", "warmed"] and second.json()["tags"] == ["eu"]
    assert bad.status_code == 400 and "tags" in bad.json()
    assert [a["label"] for a in by_tag.json()["results"]] == ["blue-1"] and none.json()["count"] == 0


def test_saved_views_are_their_owners_alone(accounts, operator, other_operator, client) -> None:
    client.force_login(operator)
    saved = client.post("/admin/accounts/telegramaccount/saved-filters/",
                        {"name": "  banned  blue ", "query": "?status__exact=banned&q=blue"})  # fmt: skip
    page = client.get("/admin/accounts/telegramaccount/").content.decode()
    view = SavedFilter.objects.get()

    assert saved.status_code == 302 and saved["Location"].endswith("?status__exact=banned&q=blue")
    assert view.name == "banned blue" and 'href="?status__exact=banned&amp;q=blue">banned blue</a>' in page

    client.force_login(other_operator)
    assert "banned blue" not in client.get("/admin/accounts/telegramaccount/").content.decode()
    client.post("/admin/accounts/telegramaccount/saved-filters/", {"delete": str(view.pk)})
    assert SavedFilter.objects.filter(pk=view.pk).exists()  # not theirs to delete
    client.force_login(operator)
    client.post("/admin/accounts/telegramaccount/saved-filters/", {"delete": str(view.pk)})
    assert not SavedFilter.objects.exists()


def test_a_patch_refused_in_part_changes_nothing(accounts, operator, red_team) -> None:
    api = APIClient()
    api.force_authenticate(operator)
    one = accounts["blue-1"].pk

    refused = api.patch(f"/api/v1/accounts/{one}", {"tags": ["kept-out"], "label": "renamed", "team": red_team.pk},
                        format="json")  # fmt: skip

    assert refused.status_code == 403  # another team's: refused after the tags and label were taken
    account = TelegramAccount.objects.get(pk=one)
    assert account.label == "blue-1" and not account.tags.exists() and not Tag.objects.exists()
