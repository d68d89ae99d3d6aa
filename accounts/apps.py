from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Telegram accounts"

    def ready(self) -> None:
        from accounts import access, schema  # noqa: F401 - access rules; the Bearer scheme for drf-spectacular
        from accounts.roles import roles_sync

        post_migrate.connect(roles_sync, dispatch_uid="tgfleet-roles-sync")
