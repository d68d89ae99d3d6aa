from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with tgfleet's site as the default, so every @admin.register lands there."""

    default_site = "project.console.site.ConsoleSite"
