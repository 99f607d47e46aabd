from django.contrib import admin
from django.urls import include, path

from quorum.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("annotation.urls")),
]
