from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with tgfleet's site as the default, so every @admin.register lands there."""

    default_site = "project.console.site.ConsoleSite"

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin module has registered its models now
        from django.contrib import admin
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from project.console.site import admins_guard

        # django-otp's own pages show each authenticator's secret: devices are managed only through the
        # two-factor pages and the user admin's audited reset.
        for model in (TOTPDevice, StaticDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
        admins_guard(admin.site)
