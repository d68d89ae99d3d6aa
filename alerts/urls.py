from django.urls import path

from alerts.api import AlertStats, AlertTest, AlertTestLegacy

urlpatterns = [
    path("alerts/stats", AlertStats.as_view(), name="alert-stats"),
    path("alerts/test", AlertTest.as_view(), name="alert-test"),
    # The path the earlier system used; kept so existing scripts keep working.
    path("group-ai/telegram-alerts/test", AlertTestLegacy.as_view(), name="alert-test-legacy"),
]
