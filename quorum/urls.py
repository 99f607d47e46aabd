from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

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
    # Pages link static/favicon.svg; pages that do not (the admin, Swagger) still get one.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=False)),
    path("", include("annotation.urls")),
]

# Styled pages that say why and link back (annotation/views/errors.py).
handler403 = "annotation.views.errors.forbidden"
handler404 = "annotation.views.errors.not_found"
