from django.contrib import admin
from django.urls import include, path

from annotation.views.auth import throttled_login
from quorum.health import healthz

# JSON under /api/, Django's pages elsewhere (quorum/errors.py).
handler400 = "quorum.errors.bad_request"
handler404 = "quorum.errors.page_not_found"
handler500 = "quorum.errors.server_error"

urlpatterns = [
    # The admin's own password form, under the brute-force rule of the other two doors.
    path("admin/login/", throttled_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("annotation.urls")),
]
