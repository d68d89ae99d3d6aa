"""Users and groups in the console: an admin-role user manages accounts of people, never privileges.

Only a superuser may make a superuser, change anyone's groups (roles and teams) or direct permissions,
or touch a superuser (their details or password: the access rule in accounts.access hides them from change).
Everyone else sees those fields read-only. A superuser's changes to them go through `user_privileges_set`,
which records them as `permission.change`; the rest is audited like every other admin change.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest

from accounts.services.privileges import FLAGS, user_privileges_set

PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class TgfleetUserAdmin(UserAdmin):
    actions = ["two_factor_reset"]

    @admin.action(description="Reset two-factor sign-in (lost phone): they enrol again at their next sign-in")
    def two_factor_reset(self, request: HttpRequest, queryset) -> None:
        from project.console.two_factor import two_factor_remove

        done = 0
        for user in queryset:
            try:
                two_factor_remove(actor=request.user, user=user)  # superusers only; a refusal is audited
            except PermissionError as exc:
                self.message_user(request, f"{user.get_username()}: not reset ({exc}).", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"Two-factor sign-in reset for {done} user(s).", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [f for f in PRIVILEGE_FIELDS if f not in fields] + ["last_login", "date_joined"]
        return fields

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """The flags are set by the service after the rest is saved; the form never writes them itself."""
        flags = {f: getattr(obj, f) for f in FLAGS if f in form.changed_data}
        if change and flags:
            saved = type(obj).objects.filter(pk=obj.pk).values(*flags).get()
            for flag, value in saved.items():
                setattr(obj, flag, value)
        request._privileges_asked = flags
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        asked = dict(getattr(request, "_privileges_asked", {}))
        for name in ("groups", "user_permissions"):
            if name in form.changed_data:
                asked[name] = form.cleaned_data.pop(name)  # so the form's save_m2m leaves them alone
        super().save_related(request, form, formsets, change)
        if asked:
            user_privileges_set(actor=request.user, user=form.instance, **asked)


@admin.register(Group)
class TgfleetGroupAdmin(GroupAdmin):
    """Roles and teams are groups; only a superuser changes what a group may do or who is in it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_superuser
