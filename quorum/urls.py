from django.contrib import admin
from django.urls import include, path

from annotation.views.auth import throttled_login
from quorum.health import healthz

urlpatterns = [
    # The admin's own password form, under the brute-force rule of the other two doors.
    path("admin/login/", throttled_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("annotation.urls")),
]

# Styled pages that say why and link back (annotation/views/errors.py).
handler403 = "annotation.views.errors.forbidden"
handler404 = "annotation.views.errors.not_found"
