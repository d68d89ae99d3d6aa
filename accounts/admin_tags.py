"""Tags in the console: a bulk action on the account list, the tag list itself, and saved list filters."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.models import SavedFilter, Tag
from accounts.services.tags import TagError, accounts_tags_edit


class TagEditForm(forms.Form):
    add = forms.CharField(required=False, max_length=500, help_text="comma-separated; new names become tags")
    remove = forms.CharField(required=False, max_length=500, help_text="comma-separated")

    def names(self, field: str) -> list[str]:
        return [n for n in self.cleaned_data[field].split(",") if n.strip()]


class AccountTagActions:
    """The account list's bulk tag edit, and the saved filters shown beside it."""

    @admin.action(description="Add or remove tags on the selected accounts…", permissions=["change"])
    def tags_edit(self, request: HttpRequest, queryset):
        form = TagEditForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            try:
                count = accounts_tags_edit(actor=request.user, accounts=list(queryset), add=form.names("add"),
                                           remove=form.names("remove"))  # fmt: skip
            except TagError as exc:
                self.message_user(request, f"Tags not changed: {exc}.", messages.ERROR)
            else:
                self.message_user(request, f"Tags changed on {count} account(s).")
            return None
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "accounts": queryset, "title": "Add or remove tags", "action": "tags_edit",
                   "known_tags": Tag.objects.restrict(request.user).values_list("name", flat=True)}  # fmt: skip
        return TemplateResponse(request, "admin/accounts/telegramaccount/tags_edit.html", context)

    @admin.display(description="tags")
    def tag_list(self, account) -> str:
        return ", ".join(t.name for t in account.tags.all())

    def saved_filter_view(self, request: HttpRequest) -> HttpResponse:
        """POST: save the list's current query under a name (or replace it), or delete one of one's own."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        changelist = reverse("admin:accounts_telegramaccount_changelist")
        if "delete" in request.POST:
            pk = request.POST["delete"]
            if pk.isdigit() and len(pk) < 19:
                SavedFilter.objects.restrict(request.user, "delete").filter(pk=int(pk)).delete()
            return redirect(changelist)
        name = " ".join(request.POST.get("name", "").split())[:60]
        query = request.POST.get("query", "").lstrip("?")[:2000]
        if not name:
            messages.error(request, "Give the filter a name to save it.")
            return redirect(f"{changelist}?{query}")
        kept = QueryDict(query).urlencode()  # what a query string can mean, re-encoded
        SavedFilter.objects.update_or_create(user=request.user, name=name, defaults={"query": kept})
        messages.success(request, f"Saved this view as “{name}”.")
        return redirect(f"{changelist}?{kept}")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """The shared names; which accounts carry one is on the account list (tags filter), as far as one may see."""

    list_display = ["name", "created_at"]
    search_fields = ["name"]
