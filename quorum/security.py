"""Response headers and session expiry that every page and API answer share.

Content-Security-Policy: scripts, styles, fonts and connections come from this origin
only, and no template holds inline script, inline style or event-handler attributes (label
colours are data attributes applied by ``static/js/colors.js``). A view that sets its own
policy (the media route sandboxes files) keeps it. ``QUORUM_CSP_REPORT_ONLY`` sends the
same policy as ``Content-Security-Policy-Report-Only``, to try a change on a live site.
"""

from django.conf import settings
from django.utils import timezone

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    # Item images are same-origin files; Swagger UI and Chart.js draw small data: images.
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_header() -> tuple[str, str]:
    """(header name, value) as configured now."""
    directives = dict(POLICY)
    if settings.QUORUM_CSP_REPORT_URI:
        directives["report-uri"] = settings.QUORUM_CSP_REPORT_URI
    value = "; ".join(f"{name} {source}" for name, source in directives.items())
    if settings.QUORUM_CSP_REPORT_ONLY:
        return "Content-Security-Policy-Report-Only", value
    return "Content-Security-Policy", value


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code >= 400:
            return response  # Django's debug pages are inline style and script; DEBUG only
        name, value = policy_header()
        if "Content-Security-Policy" not in response and name not in response:
            response[name] = value
        return response


class SessionIdleMiddleware:
    """A session expires ``SESSION_COOKIE_AGE`` seconds after its last request.

    ``SESSION_SAVE_EVERY_REQUEST`` would do it with a database write on every request,
    including the two per label; this writes at most once a minute per session, so the
    idle limit is exact to within that minute.
    """

    KEY = "_quorum_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.accessed and not session.is_empty():
            now = timezone.now().timestamp()
            interval = min(60, settings.SESSION_COOKIE_AGE / 10)
            if now - session.get(self.KEY, 0) >= interval:
                session[self.KEY] = now  # modified: SessionMiddleware saves it, new expiry
        return response
