"""The four roles, as Django groups with model permissions. Teams decide which accounts; roles decide what."""

from __future__ import annotations

ACCOUNT_ACTIONS = ("view_telegramaccount", "change_telegramaccount", "delete_telegramaccount", "check_account",
                   "export_session")  # fmt: skip

PROXY_ACTIONS = ("accounts.view_proxy", "accounts.add_proxy", "accounts.change_proxy", "accounts.delete_proxy")

ROLES: dict[str, tuple[str, ...]] = {
    "admin": (
        *(f"accounts.{codename}" for codename in ACCOUNT_ACTIONS),
        "accounts.add_telegramaccount",
        "accounts.login_account",
        *PROXY_ACTIONS,
        "accounts.access_all_accounts",
        "accounts.view_tag",
        "accounts.add_tag",
        "accounts.change_tag",
        "accounts.delete_tag",
        "accounts.view_team",
        "accounts.add_team",
        "accounts.change_team",
        "accounts.delete_team",
        "accounts.view_apitoken",
        "accounts.add_apitoken",
        "accounts.change_apitoken",
        "audit.view_auditevent",
        "alerts.view_route",
        "alerts.add_route",
        "alerts.change_route",
        "alerts.send_test",
        "alerts.view_silence",
        "alerts.add_silence",
        "alerts.change_silence",
        "alerts.view_alert",
        "alerts.acknowledge_alert",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ),
    "operator": (
        *(f"accounts.{codename}" for codename in ACCOUNT_ACTIONS),
        "accounts.add_telegramaccount",
        "accounts.login_account",
        *PROXY_ACTIONS,
        "accounts.view_team",
        "accounts.view_tag",
        "accounts.add_tag",
        "alerts.view_route",
        "alerts.view_alert",
        "alerts.acknowledge_alert",
        "alerts.view_silence",
        "alerts.add_silence",
    ),
    "viewer": ("accounts.view_telegramaccount", "accounts.view_team", "accounts.view_proxy", "accounts.view_tag"),
    "auditor": ("audit.view_auditevent",),
}


def roles_install(using: str = "default", apps=None) -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    if apps is None:
        from django.apps import apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    for role, perms in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def roles_sync(sender, using: str = "default", **kwargs) -> None:
    """post_migrate: permissions of every app first (they may not exist yet), then the roles."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    if sender.label != "accounts":
        return
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    roles_install(using=using)
