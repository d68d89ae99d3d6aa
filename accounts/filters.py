"""The account list's query filters, declared once (django-filter): the API applies them and the schema says them."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from accounts.models import AccountStatus, TelegramAccount
from accounts.sessions import SessionFormat
from project.filtering import StrictFilterForm


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

    class Meta:
        model = TelegramAccount
        fields = ["status", "last_outcome", "team", "proxy", "tag", "source_format", "search"]
        form = StrictFilterForm

    def search_filter(self, queryset, name: str, value: str):
        return queryset.filter(Q(label__icontains=value) | Q(phone__icontains=value) | Q(username__icontains=value))
