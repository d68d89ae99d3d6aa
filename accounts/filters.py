"""The account list's query filters, declared once (django-filter): the API applies them and the schema says them."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from accounts.models import AccountStatus, TelegramAccount
from accounts.sessions import SessionFormat
from project.filtering import StrictFilterForm

TRUE_FALSE = [("true", "true"), ("false", "false")]


class AccountFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AccountStatus.choices, help_text="one or more statuses")
    last_outcome = django_filters.CharFilter(max_length=16, help_text="the last check's outcome, e.g. proxy_error")
    team = django_filters.NumberFilter(field_name="team_id", min_value=1, help_text="a team's id")
    proxy = django_filters.NumberFilter(field_name="proxy_id", min_value=1, help_text="a proxy's id")
    tag = django_filters.CharFilter(field_name="tags__name", max_length=40, distinct=True,
                                    help_text="accounts that carry this tag")  # fmt: skip
    source_format = django_filters.ChoiceFilter(choices=[(f.value, f.value) for f in SessionFormat])
    search = django_filters.CharFilter(method="search_filter", max_length=100,
                                       help_text="part of the label, phone or username")  # fmt: skip
    spam_blocked = django_filters.ChoiceFilter(choices=TRUE_FALSE, method="standing_filter",
                                               help_text="as the last deep check found (@SpamBot)")  # fmt: skip
    frozen = django_filters.ChoiceFilter(choices=TRUE_FALSE, method="standing_filter",
                                         help_text="as the last deep check found")  # fmt: skip
    other_sessions = django_filters.ChoiceFilter(choices=TRUE_FALSE, method="other_sessions_filter",
                                                 help_text="other devices signed in (last deep check)")  # fmt: skip

    class Meta:
        model = TelegramAccount
        fields = ["status", "last_outcome", "team", "proxy", "tag", "source_format", "search", "spam_blocked",
                  "frozen", "other_sessions"]  # fmt: skip
        form = StrictFilterForm

    def standing_filter(self, queryset, name: str, value: str):
        """true or false as the deep check found it; an account it could not tell about (unknown) is neither."""
        return queryset.filter(**{f"standing__{name}": value == "true"})

    def other_sessions_filter(self, queryset, name: str, value: str):
        sessions = queryset.filter(standing__other_sessions__gt=0)
        return sessions if value == "true" else queryset.filter(standing__other_sessions=0)

    def search_filter(self, queryset, name: str, value: str):
        return queryset.filter(Q(label__icontains=value) | Q(phone__icontains=value) | Q(username__icontains=value))
