from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with tgfleet's site as the default, so every @admin.register lands there."""

    default_site = "project.console.site.ConsoleSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin module has registered its models now
        from django.contrib import admin

        from project.console.site import admins_guard

        admins_guard(admin.site)
