"""The console's admin pages by structure: every model admin audited, privileges only for superusers."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import Team
from accounts.services import session_import
from accounts.sessions import InputFile
from alerts.models import Route, Silence
from audit.admin_audit import AuditedAdminMixin
from audit.models import AuditEvent
from audit.services import AuditUnavailableError
from conftest import SYSTEM
from tests import session_makers as make

pytestmark = [pytest.mark.django_db]
PASSWORD = "correct-horse-battery-9"


def test_every_registered_model_admin_is_audited() -> None:
    unaudited = [model._meta.label for model, model_admin in admin.site._registry.items()
                 if not isinstance(model_admin, AuditedAdminMixin)]  # fmt: skip

    assert admin.site._registry and unaudited == []


def _user_form(user, **changes) -> dict:
    form = {"username": user.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
            "is_staff": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "groups": [g.pk for g in user.groups.all()]}  # fmt: skip
    form.update(changes)
    return form


def test_an_admin_role_user_cannot_make_anyone_superuser_or_change_groups(client, admin_user, viewer, red_team):
    client.force_login(admin_user)

    client.post(
        f"/admin/auth/user/{viewer.pk}/change/",
        _user_form(viewer, is_superuser="on", groups=[*[g.pk for g in viewer.groups.all()], red_team.group.pk]),
    )
    client.post(f"/admin/auth/user/{admin_user.pk}/change/", _user_form(admin_user, is_superuser="on"))  # fmt: skip

    viewer.refresh_from_db()
    admin_user.refresh_from_db()
    assert not viewer.is_superuser and not admin_user.is_superuser
    assert red_team.group not in viewer.groups.all()


def test_an_admin_role_user_cannot_touch_a_superuser_or_the_groups(client, admin_user, superuser) -> None:
    client.force_login(admin_user)

    password = client.post(f"/admin/auth/user/{superuser.pk}/password/",
                           {"password1": "new-pass-word-77", "password2": "new-pass-word-77"})  # fmt: skip
    group = client.post(f"/admin/auth/group/{Group.objects.get(name='viewer').pk}/change/", {"name": "viewer"})

    assert password.status_code == 403 and group.status_code == 403
    assert get_user_model().objects.get(pk=superuser.pk).check_password(PASSWORD)


def test_a_route_chat_change_is_audited_with_what_changed(client, superuser) -> None:
    route = Route.objects.create(name="ops", chat_id="-100600")
    client.force_login(superuser)

    client.post(f"/admin/alerts/route/{route.pk}/change/", {
        "name": "ops", "kind_pattern": "*", "min_severity": route.min_severity, "chat_id": "-100999",
        "enabled": "on", "cooldown_seconds": route.cooldown_seconds, "repeat_seconds": route.repeat_seconds or "",
    })  # fmt: skip

    event = AuditEvent.objects.get(action="admin.alerts.route.change")
    assert event.details["changed"]["chat_id"] == "-100999" and event.target_id == str(route.pk)


def test_a_silence_added_in_the_console_is_audited(client, admin_user) -> None:
    client.force_login(admin_user)

    silence = {"kind_pattern": "account.*", "key_pattern": "*", "until_0": "2099-01-01", "until_1": "00:00:00",
               "reason": "maintenance"}  # fmt: skip
    client.post("/admin/alerts/silence/add/", silence)

    assert Silence.objects.count() == 1
    assert AuditEvent.objects.filter(action="admin.alerts.silence.add", actor_name="admin-role").count() == 1


def test_a_team_deleted_in_the_console_is_audited(client, superuser) -> None:
    team = Team.objects.create(name="gone", group=Group.objects.create(name="team:gone"))
    client.force_login(superuser)

    client.post(f"/admin/accounts/team/{team.pk}/delete/", {"post": "yes"})

    assert not Team.objects.filter(pk=team.pk).exists()
    assert AuditEvent.objects.filter(action="admin.accounts.team.delete", target_id=str(team.pk)).count() == 1


def test_an_api_token_made_in_the_console_is_shown_once_and_never_put_in_a_cookie(client, superuser, viewer) -> None:
    client.force_login(superuser)

    response = client.post("/admin/accounts/apitoken/add/", {"user": viewer.pk, "name": "ci"})

    token = response.context["token"]
    assert token.startswith("tgf_") and token in response.content.decode()
    assert all(token not in morsel.value for morsel in response.cookies.values())
    assert "no-store" in response["Cache-Control"]


def test_ones_own_password_change_is_audited(client, operator) -> None:
    client.force_login(operator)

    response = client.post("/admin/password_change/", {"old_password": PASSWORD, "new_password1": "another-Pass-88",
                                                         "new_password2": "another-Pass-88"})  # fmt: skip

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_change", actor_name="operator").count() == 1


def test_downloads_of_the_trail_are_audited(client, auditor) -> None:
    client.force_login(auditor)

    client.get("/admin/audit/auditevent/export.jsonl?action=auth.login")
    client.get("/api/v1/audit/events.jsonl?outcome=denied")

    exports = list(
        AuditEvent.objects.filter(action="audit.export").order_by("sequence").values_list("details", flat=True)
    )
    assert [e["filters"] for e in exports] == [{"action": "auth.login"}, {"outcome": "denied"}]


def test_an_import_where_every_file_was_refused_still_leaves_an_event(vault, operator) -> None:
    session_import(actor=operator, files=[InputFile("junk.txt", b"not a session")])

    event = AuditEvent.objects.get(action="session.import.upload")
    assert (event.outcome, event.details["rejected"], event.actor_name) == ("failed", 1, "operator")


def test_bulk_actions_are_audited_with_their_selection(client, superuser, bot) -> None:
    route = Route.objects.create(name="ops", chat_id="-100600")
    client.force_login(superuser)

    client.post("/admin/alerts/route/", {"action": "send_test", "_selected_action": [route.pk]})

    event = AuditEvent.objects.get(action="admin.alerts.route.action.send_test")
    assert event.details == {"selected": [str(route.pk)], "count": 1}


def test_a_route_change_is_refused_whole_when_its_event_cannot_be_written(client, superuser) -> None:
    from audit.tests.test_audit_trail import _break_audit_inserts, _repair_audit_inserts

    route = Route.objects.create(name="ops", chat_id="-100600")
    client.force_login(superuser)
    form = {"name": "ops", "kind_pattern": "*", "min_severity": route.min_severity, "chat_id": "-100999",
            "enabled": "on", "cooldown_seconds": route.cooldown_seconds, "repeat_seconds": ""}  # fmt: skip
    _break_audit_inserts()
    try:
        with pytest.raises(AuditUnavailableError):
            client.post(f"/admin/alerts/route/{route.pk}/change/", form)
    finally:
        _repair_audit_inserts()

    route.refresh_from_db()
    assert route.chat_id == "-100600"


def _silence(client, kind: str, key: str):
    return client.post("/admin/alerts/silence/add/", {"kind_pattern": kind, "key_pattern": key, "until_0": "2099-01-01",
                                                      "until_1": "00:00:00", "reason": "maintenance"})  # fmt: skip


def _account_in(team, actor=SYSTEM) -> int:
    files = [InputFile("a.txt", make.telethon_string(key=make.random_key()).encode())]
    return session_import(actor=actor, files=files, team=team).outcomes[0].account_id


def test_a_team_scoped_operator_silences_only_their_own_accounts(client, vault, operator, admin_user, blue_team,
                                                                 red_team) -> None:  # fmt: skip
    theirs, mine = _account_in(red_team), _account_in(blue_team)
    client.force_login(operator)

    everything = _silence(client, "*", "*")
    other_team = _silence(client, "account.*", str(theirs))
    own = _silence(client, "account.*", str(mine))

    assert everything.status_code == other_team.status_code == 200  # the form again, with the reason
    assert "you may silence only account alerts of your own accounts" in everything.content.decode()
    assert own.status_code == 302
    assert list(Silence.objects.values_list("key_pattern", flat=True)) == [str(mine)]
    assert AuditEvent.objects.filter(action="alerts.silence", outcome="denied").count() == 2
    client.force_login(admin_user)
    assert _silence(client, "*", "*").status_code == 302 and Silence.objects.count() == 2
