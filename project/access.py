"""One access rule per model: `restrict(queryset, user, action)` is the only way anything lists rows a user may
see or act on (the way NetBox's RestrictedQuerySet works). Deny by default: an anonymous or inactive user gets
nothing, and so does any model without a rule.

Each app states its models' rules in its `access` module (`@access_rule("app.Model")`); our own models get
`Model.objects.restrict(user, action)` through RestrictedQuerySet. The API, the admin (RestrictedAdminMixin,
given to every registered admin), the console and the services all come through here; a test walks the admin
registry and fails on a model admin that is not restricted or a model without a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

Rule = Callable[[QuerySet, object, str], QuerySet]
_RULES: dict[str, Rule] = {}


def access_rule(*labels: str) -> Callable[[Rule], Rule]:
    """Register the rule for these models ("app_label.ModelName")."""

    def register(rule: Rule) -> Rule:
        for label in labels:
            _RULES[label.lower()] = rule
        return rule

    return register


def access_rule_for(model: type[models.Model]) -> Rule | None:
    return _RULES.get(model._meta.concrete_model._meta.label_lower)


def restrict(queryset: QuerySet, user, action: str = "view") -> QuerySet:
    """The rows of `queryset` this user may `action` (view, change, delete, or a model's own verbs)."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return queryset.none()
    rule = access_rule_for(queryset.model)
    if rule is None:
        return queryset.none()
    return rule(queryset, user, action)


def model_permission_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    """For models that belong to no team (schedules, login attempts): the model permission decides, all or none."""
    opts = queryset.model._meta
    if user.is_superuser or user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
        return queryset
    return queryset.none()


def superuser_only_rule(queryset: QuerySet, user, action: str) -> QuerySet:
    return queryset if user.is_superuser else queryset.none()


def access_rule_models(labels: Iterable[str], rule: Rule) -> None:
    access_rule(*labels)(rule)


class RestrictedQuerySet(QuerySet):
    def restrict(self, user, action: str = "view") -> QuerySet:
        return restrict(self, user, action)


class RestrictedAdminMixin:
    """The admin's list, change and delete pages, autocompletes and bulk actions see only restricted rows; an
    object the user may see but not change or delete opens read-only or not at all."""

    restricted = True

    def get_queryset(self, request: HttpRequest):
        return restrict(super().get_queryset(request), request.user, "view")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and _allowed(request.user, obj, "change")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and _allowed(request.user, obj, "delete")

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        """A bulk delete takes all the selected rows or none: one the user may see but not delete refuses it."""
        if restrict(queryset, request.user, "delete").count() != queryset.count():
            raise PermissionDenied("you may not delete some of the selected rows")
        super().delete_queryset(request, queryset)


def _allowed(user, obj, action: str) -> bool:
    if obj is None or obj.pk is None:
        return True
    return restrict(type(obj)._default_manager.all(), user, action).filter(pk=obj.pk).exists()
