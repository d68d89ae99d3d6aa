"""List filters that offer only what the user may see."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

from accounts.models import Team, TelegramAccount


class VisibleTeamFilter(admin.SimpleListFilter):
    """Teams owning at least one account the user can see: other teams' names are not shown."""

    title = "team"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        teams = Team.objects.filter(accounts__in=TelegramAccount.objects.restrict(request.user)).distinct()
        return [("none", "No team"), *((str(t.pk), t.name) for t in teams)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(team__isnull=True)
        if value and value.isdigit():
            return queryset.filter(team_id=int(value))
        if value:
            raise IncorrectLookupParameters(f"team must be a team's id or 'none', not {value!r}")
        return queryset
