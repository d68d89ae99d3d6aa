from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from accounts.models import Team
from accounts.services import EXPORT_FORMATS
from accounts.services.teams import TeamChoiceError, team_for_accounts, teams_assignable_by


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


class ImportForm(forms.Form):
    files = MultipleFileField(help_text="Telethon or Pyrogram sessions, session strings in .txt, .json sidecars, zips.")
    team = forms.ModelChoiceField(Team.objects.all(), required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        team = self.fields["team"]
        team.queryset = teams_assignable_by(user)
        if not (user.is_superuser or user.has_perm("accounts.access_all_accounts")):
            team.required, team.empty_label = True, None  # accounts outside one's teams would be hidden
            team.help_text = "Your teams; the imported accounts belong to the one you choose."

    def clean_team(self):
        try:
            return team_for_accounts(actor=self.user, team=self.cleaned_data.get("team"), action="session.import")
        except (TeamChoiceError, PermissionDenied) as exc:
            raise forms.ValidationError(str(exc)) from None


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
        fields = ["name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = self.instance.group.user_set.all()
