"""Every model admin is audited by structure, not by remembering to: add, change (with what changed), delete
and bulk actions each write an event in the admin's own transaction, so no event means no change.

`project.console.site.admins_guard` runs once the registry is complete and gives every registered ModelAdmin
(ours and third-party ones: users, groups, beat's schedules, axes) this mixin and the RestrictedAdminMixin; a
test walks the registry and fails on any admin without them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from audit.services import audit_record

SECRET_FIELDS = {"password", "key_sha256", "auth_key", "token", "secret"}
MAX_VALUE_CHARS = 200


class AuditedAdminMixin:
    """Writes admin.<app>.<model>.<add|change|delete|action> events where Django's admin logs its own entries."""

    audited = True

    def _event(self, request: HttpRequest, verb: str, obj: models.Model | None, details: dict) -> None:
        label = self.model._meta.label_lower
        audit_record(actor=request.user, action=f"admin.{label}.{verb}"[:64], target=obj,
                     target_type=label, details=details)  # fmt: skip

    def construct_change_message(self, request, form, formsets, add=False):
        request._audit_changed = list(form.changed_data)  # field names, for log_addition / log_change
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        self._event(request, "add", obj, {"fields": _values(obj, getattr(request, "_audit_changed", []))})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        # A password change (UserAdmin) builds its message without a form diff: it names the field itself.
        names = getattr(request, "_audit_changed", None) or _fields_in(message, "changed")
        self._event(request, "change", obj, {"changed": _values(obj, names)})
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._event(request, "delete", obj, {})
        return super().log_deletions(request, queryset)

    def response_action(self, request, queryset):
        """A bulk action and the rows it was asked for, recorded with whatever the action itself writes."""
        action = request.POST.get("action", "")
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if not action or action == "delete_selected":  # deletions are recorded one by one
            return super().response_action(request, queryset)
        with transaction.atomic():
            self._event(request, f"action.{action}", None, {"selected": selected[:500], "count": len(selected)})
            return super().response_action(request, queryset)


def _fields_in(message, key: str) -> list[str]:
    """Field names from the admin's change message (a list of {"changed": {"fields": [...]}} entries)."""
    names: list[str] = []
    for entry in message if isinstance(message, list) else []:
        names.extend(entry.get(key, {}).get("fields", []) if isinstance(entry.get(key), dict) else [])
    return names


def _values(obj: models.Model, names: list[str]) -> dict[str, str]:
    """Each changed field's new value (secrets only as "changed"); names are field names or form labels."""
    fields = {f.name: f for f in obj._meta.get_fields() if hasattr(f, "verbose_name")}
    fields.update({str(f.verbose_name).lower(): f for f in fields.values()})
    values: dict[str, str] = {}
    for name in names:
        field = fields.get(name) or fields.get(str(name).lower())
        if field is None:
            values[str(name)] = "(changed)"
        elif any(secret in field.name for secret in SECRET_FIELDS):
            values[field.name] = "(changed; not recorded)"
        elif field.many_to_many:
            values[field.name] = ", ".join(str(o) for o in getattr(obj, field.name).all())[:MAX_VALUE_CHARS]
        else:
            values[field.name] = str(getattr(obj, field.attname, ""))[:MAX_VALUE_CHARS]
    return values
