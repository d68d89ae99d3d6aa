"""The project's URLs plus the baseline for bench/console.py: Django's stock admin site at /stock/.

The stock site has Django's own index (the app list) and a plain ModelAdmin for accounts that lists the same
accounts (the same selector) with Django's defaults: no badges, charts, extra filters or sections.
"""

from django.contrib import admin
from django.urls import path

from accounts.models import TelegramAccount
from project.urls import urlpatterns as project_urls


class StockAccountAdmin(admin.ModelAdmin):
    list_display = ["label", "phone", "username", "status", "team"]
    change_list_template = "admin/change_list.html"  # Django's own, not tgfleet's per-model templates
    change_form_template = "admin/change_form.html"

    def get_queryset(self, request):
        return TelegramAccount.objects.restrict(request.user).select_related("team")


stock = admin.AdminSite(name="stock")
stock.register(TelegramAccount, StockAccountAdmin)

urlpatterns = [path("stock/", stock.urls), *project_urls]
