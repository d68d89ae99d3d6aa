from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from health import views as health_views
from project.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health_views.health),
    path("health/", include("health.urls")),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("audit.urls")),
    path("api/v1/", include("alerts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its setup script as a file: the page runs under a CSP with no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("metrics", metrics_view, name="metrics"),
]

handler404 = "project.api_errors.not_found"
handler500 = "project.api_errors.server_error"
handler400 = "project.api_errors.bad_request"
handler403 = "project.api_errors.permission_denied"
