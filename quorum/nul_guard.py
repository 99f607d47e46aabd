"""Refuse a NUL character in the URL, the query string or a form field with one clear 400.

PostgreSQL cannot store U+0000 in text columns: a NUL that reached a query answered
500 (``DataError``) there and was stored silently on SQLite. JSON bodies are checked
by ``api.parsers.BoundedJSONParser`` and import files row by row; this middleware is
the one place for everything Django decodes itself.
"""

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

MESSAGE = "NUL characters (U+0000) are not allowed in {where}."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulByteMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _where_nul(request)
        if where is None:
            return self.get_response(request)
        message = MESSAGE.format(where=where)
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _where_nul(request: HttpRequest) -> str | None:
    if "\x00" in request.path_info:
        return "the URL"
    if _any_nul(request.GET.lists()):
        return "the query string"
    form = request.method == "POST" and request.content_type in FORM_TYPES
    if form and _any_nul(request.POST.lists()):  # (file names: Django drops unprintables)
        return "a form field"
    return None


def _any_nul(pairs: Iterable[tuple[str, list[str]]]) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in pairs)
