from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import views as catalog_views
from core import views as core_views
from monitoring import metrics as monitoring_metrics

handler404 = "core.views.page_not_found"

urlpatterns = [
    path("", catalog_views.home, name="home"),
    path("healthz", core_views.health, name="health"),
    path("metrics", monitoring_metrics.metrics, name="metrics"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("broker.api.urls")),
    path("api/v1/catalog/", include("catalog.api.urls")),
    path("api/v1/lineage/", include("lineage.api.urls")),
    path("api/v1/audit/", include("core.api.urls")),
    path("api/v1/", include("core.api.key_urls")),
    path("api/v1/", include("monitoring.traces.api_urls")),
    path("api/v1/", include("monitoring.api.urls")),
    path("registry/", include("schemas.api.urls")),
    path("schemas/", include("schemas.urls")),
    path("catalog/", include("catalog.urls")),
    path("topics/", include("catalog.topic_urls")),
    path("monitoring/", include("monitoring.urls")),
    path("traces/", include("monitoring.traces.urls")),
    path("lineage/", include("lineage.urls")),
    path("audit/", include("core.urls")),
    path("keys/", include("core.key_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
]
