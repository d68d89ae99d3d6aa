"""One access rule by structure: every model admin restricted, every listed model ruled, deny by default, and
the console's pages showing a team-scoped user nothing of another team's, however many model permissions."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import ApiToken, Job, TelegramAccount
from accounts.services import session_import
from accounts.services.privileges import user_privileges_set
from accounts.sessions import InputFile
from accounts.tokens import token_create
from alerts.models import Alert, ChatPace, Notification, Route, Severity, Silence
from alerts.services import alert_raise
from audit.models import AuditEvent
from conftest import SYSTEM
from project.access import RestrictedAdminMixin, access_rule_for, restrict
from tests import session_makers as make

pytestmark = [pytest.mark.django_db]


def test_every_registered_model_admin_is_restricted_and_every_model_has_a_rule() -> None:
    unrestricted = [m._meta.label for m, a in admin.site._registry.items() if not isinstance(a, RestrictedAdminMixin)]
    unruled = [m._meta.label for m in admin.site._registry if access_rule_for(m) is None]

    assert len(admin.site._registry) >= 15 and unrestricted == [] and unruled == []


def test_a_model_without_a_rule_is_denied_even_to_a_superuser(superuser) -> None:
    ChatPace.objects.create(chat_id="-100500")

    assert restrict(ChatPace.objects.all(), superuser).count() == 0


@pytest.fixture
def two_teams(vault, blue_team, red_team, other_operator):
    """An account, an alert, a silence, a token and an import per team (red's made by red's operator)."""
    made = {}
    for team in (blue_team, red_team):
        files = [InputFile(f"{team.name}.txt", make.telethon_string(key=make.random_key()).encode())]
        account = TelegramAccount.objects.get(pk=session_import(actor=SYSTEM, files=files, team=team).outcomes[0]
                                              .account_id)  # fmt: skip
        account.label = f"{team.name}-account"
        account.save()
        alert_raise(kind="account.offline", severity=Severity.CRITICAL, key=str(account.pk),
                    summary=f"{team.name}-alert")  # fmt: skip
        Silence.objects.create(kind_pattern="account.*", key_pattern=str(account.pk), reason=f"{team.name}-silence",
                               until=timezone.now() + dt.timedelta(hours=1))  # fmt: skip
        made[team.name] = account
    Route.objects.create(name="ops", chat_id="-100600")
    alert_raise(kind="account.offline", severity=Severity.CRITICAL, key="999", summary="red-ish-alert")
    token_create(actor=SYSTEM, user=other_operator, name="red-token")
    Job.objects.create(created_by=other_operator, uploaded=["red-upload.session"])
    return made


def _every_model_permission(user) -> None:
    """As many model permissions as exist: the team must still decide which rows."""
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))


def test_a_team_scoped_user_with_every_view_permission_sees_only_their_team(two_teams, operator) -> None:
    _every_model_permission(operator)
    operator = get_user_model().objects.get(pk=operator.pk)  # permission caches start empty

    assert set(TelegramAccount.objects.restrict(operator).values_list("label", flat=True)) == {"blue-account"}
    assert set(Alert.objects.restrict(operator).values_list("summary", flat=True)) == {"blue-alert"}
    assert set(Silence.objects.restrict(operator).values_list("reason", flat=True)) == {"blue-silence"}
    assert {n.alert.summary for n in Notification.objects.restrict(operator)} <= {"blue-alert"}
    assert not ApiToken.objects.restrict(operator).filter(name="red-token").exists()
    assert not Job.objects.restrict(operator).exists()


@pytest.mark.parametrize(
    ("path", "hidden"),
    [
        ("/admin/accounts/telegramaccount/", "red-account"),
        ("/admin/alerts/alert/", "red-alert"),
        ("/admin/alerts/silence/", "red-silence"),
        ("/admin/alerts/notification/", "red-alert"),
        ("/admin/accounts/apitoken/", "red-token"),
        ("/admin/accounts/team/", ">red<"),
    ],
)
def test_console_lists_hide_the_other_team(two_teams, operator, client, path, hidden) -> None:
    _every_model_permission(operator)
    client.force_login(operator)

    page = client.get(path)

    assert page.status_code == 200 and hidden not in page.content.decode()


def test_another_teams_row_is_not_found_and_a_visible_one_opens_read_only(two_teams, viewer, client) -> None:
    client.force_login(viewer)

    hidden = client.get(f"/admin/accounts/telegramaccount/{two_teams['red'].pk}/change/", follow=True)
    mine = client.get(f"/admin/accounts/telegramaccount/{two_teams['blue'].pk}/change/")

    assert "doesn’t exist" in hidden.content.decode() and "red-account" not in hidden.content.decode()
    assert mine.status_code == 200 and 'name="label"' not in mine.content.decode()


def test_nobody_anonymous_or_inactive_gets_a_row(two_teams, superuser) -> None:
    superuser.is_active = False

    for model in (TelegramAccount, Alert, Silence, Route, Notification, AuditEvent, ApiToken):
        assert restrict(model.objects.all(), AnonymousUser()).count() == 0
        assert restrict(model.objects.all(), superuser).count() == 0


def test_a_bulk_delete_with_a_row_the_user_may_not_delete_deletes_nothing(two_teams, operator, client) -> None:
    from guardian.shortcuts import assign_perm

    red = two_teams["red"]
    assign_perm("accounts.view_telegramaccount", operator, red)  # shown to them, not theirs to delete
    client.force_login(operator)
    ids = [two_teams["blue"].pk, red.pk]

    response = client.post("/admin/accounts/telegramaccount/", {"action": "delete_selected", "post": "yes",
                                                                "_selected_action": ids})  # fmt: skip

    assert response.status_code in (200, 403)
    assert TelegramAccount.objects.filter(pk__in=ids).count() == 2
    assert not AuditEvent.objects.filter(action="account.delete", outcome="allowed").exists()


def test_a_team_is_scoped_by_membership_and_a_single_user_grant_adds_exactly_its_account(two_teams, operator) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from guardian.shortcuts import assign_perm, remove_perm

    blue, red = two_teams["blue"], two_teams["red"]
    with CaptureQueriesContext(connection) as queries:
        mine = list(TelegramAccount.objects.restrict(operator).values_list("pk", flat=True))
    listing = queries.captured_queries[-1]["sql"]

    assert mine == [blue.pk]
    # By the account's team column, not a per-row lookup of grants to the team's group.
    assert "objectpermission" not in listing.lower() and '"team_id" IN' in listing
    assign_perm("accounts.view_telegramaccount", operator, red)
    assert set(TelegramAccount.objects.restrict(operator).values_list("pk", flat=True)) == {blue.pk, red.pk}
    assert not TelegramAccount.objects.restrict(operator, "delete").filter(pk=red.pk).exists()
    remove_perm("accounts.view_telegramaccount", operator, red)
    operator.groups.remove(blue.team.group)
    assert not TelegramAccount.objects.restrict(operator).exists()


def test_privileges_change_only_through_the_audited_service(superuser, admin_user, viewer, red_team) -> None:
    with pytest.raises(PermissionDenied, match="only a superuser"):
        user_privileges_set(actor=admin_user, user=viewer, is_superuser=True)

    changes = user_privileges_set(actor=superuser, user=viewer, groups=[*viewer.groups.all(), red_team.group])

    viewer.refresh_from_db()
    assert not viewer.is_superuser and red_team.group in viewer.groups.all()
    denied = AuditEvent.objects.get(action="permission.change", outcome="denied")
    allowed = AuditEvent.objects.get(action="permission.change", outcome="allowed", target_id=str(viewer.pk))
    assert denied.actor_name == "admin-role" and denied.details["asked"] == ["is_superuser"]
    assert allowed.details == changes == {"groups": {"added": ["team:red"], "removed": []}}


def test_a_superuser_grants_a_role_in_the_user_admin_through_the_service(superuser, viewer, client) -> None:
    from django.contrib.auth.models import Group

    client.force_login(superuser)
    operator_role = Group.objects.get(name="operator")
    form = {"username": viewer.username, "first_name": "", "last_name": "", "email": "", "is_active": "on",
            "is_staff": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
            "groups": [*[g.pk for g in viewer.groups.all()], operator_role.pk]}  # fmt: skip

    response = client.post(f"/admin/auth/user/{viewer.pk}/change/", form)

    assert response.status_code == 302
    assert operator_role in get_user_model().objects.get(pk=viewer.pk).groups.all()
    event = AuditEvent.objects.get(action="permission.change", target_id=str(viewer.pk))
    assert event.details["groups"]["added"] == ["operator"] and event.actor_name == "root"


def test_an_admin_cannot_make_a_token_that_acts_as_a_superuser(admin_user, superuser) -> None:
    with pytest.raises(PermissionDenied, match="tokens for this user"):
        token_create(actor=admin_user, user=superuser)

    assert not ApiToken.objects.filter(user=superuser).exists()
    assert AuditEvent.objects.get(action="token.create").outcome == "denied"
