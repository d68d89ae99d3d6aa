"""Query filters refuse what they cannot mean: `?outcome=` or `?since=` given empty is named as an error, not
dropped silently (only free-text filters may be empty). Every FilterSet of the API uses this form."""

from __future__ import annotations

import datetime as dt

from django import forms
from django_filters import IsoDateTimeFilter
from django_filters.fields import IsoDateTimeField


class StrictFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if type(field) is forms.CharField or name not in self.data:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            if any(not str(value).strip() for value in values):
                self.add_error(name, f"{name} was given empty; leave it out, or give a value")
        return cleaned


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, as UTC: any offset Python reads (up to ±23:59) becomes one every database takes
    (PostgreSQL refuses offsets beyond ±15:59); a time that leaves the calendar doing so is refused."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UTCDateTimeFilter(IsoDateTimeFilter):
    field_class = UTCDateTimeField
