"""Query filters refuse what they cannot mean: `?outcome=` or `?since=` given empty is named as an error, not
dropped silently (only free-text filters may be empty). Every FilterSet of the API uses this form."""

from __future__ import annotations

from django import forms


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
