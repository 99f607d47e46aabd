"""Swagger UI for signed-in users, under the site's Content-Security-Policy.

The split view serves its start-up script as a separate same-origin file instead of an
inline ``<script>``; ``templates/drf_spectacular/swagger_ui.html`` drops the inline
``<style>``. An anonymous visitor is sent to the login page and comes back here.
"""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_permissions(self):
        return []  # checked in get(): a browser gets the login page, not a 401 body
