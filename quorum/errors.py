"""The site's 400, 404 and 500 answers: JSON under ``/api/``, Django's pages elsewhere.

Django answers some requests before any view runs, or after a view gave up: a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many form fields, a broken multipart body, a URL no
route matches, an uncaught error. A client of the API then got an HTML page where every
other error is ``{"detail": ...}``. These handlers give it the API's shape.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _bad_request_detail(exception: Exception | None) -> str:
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return f"The request body is too large; the limit is {limit:,} bytes."
    if isinstance(exception, TooManyFieldsSent):
        return (
            f"The request has too many form fields (over {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})."
        )
    if isinstance(exception, TooManyFilesSent):
        return f"The request has too many files (over {settings.DATA_UPLOAD_MAX_NUMBER_FILES})."
    return "The request could not be read (a malformed body or header)."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django always passes the exception that made the request unreadable."""
    if _is_api(request):
        return JsonResponse({"detail": _bad_request_detail(exception)}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Server error; it was logged."}, status=500)
    return defaults.server_error(request)
