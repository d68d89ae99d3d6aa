from django import forms
from django.contrib.auth import get_user_model

from accounts.models import Team
from accounts.permissions import sees_all_accounts
from accounts.services import EXPORT_FORMATS
from accounts.services.teams import teams_assignable_by


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


def team_field_limit(field: forms.ModelChoiceField, user) -> forms.ModelChoiceField:
    """Offer only the teams this user may put accounts in; a team-scoped user must pick one of them."""
    field.queryset = teams_assignable_by(user)
    if not sees_all_accounts(user):
        field.required, field.empty_label = True, None
    return field


class ImportForm(forms.Form):
    files = MultipleFileField(help_text="Telethon or Pyrogram sessions, session strings in .txt, .json sidecars, zips.")
    team = forms.ModelChoiceField(Team.objects.all(), required=False, help_text="The team that owns the accounts.")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        team_field_limit(self.fields["team"], user)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(name, name.replace("_", " ")) for name in EXPORT_FORMATS])
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Why, for the audit trail."
    )
    confirm = forms.BooleanField(label="I understand that whoever holds this file owns the account.")


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(get_user_model().objects.filter(is_active=True), required=False)

    class Meta:
        model = Team
        fields = ["name", "spambot_checks"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = self.instance.group.user_set.all()
