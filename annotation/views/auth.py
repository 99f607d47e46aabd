"""The password doors of the site, the login page and the admin's, under the same
brute-force rule as the token endpoint (``annotation.services.users``).

A locked account or address gets a page with a plain message and status 429 (and
``Retry-After``) before the password is checked.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from annotation.services.users import (
    login_attempt_check,
    login_attempt_failed,
    login_attempt_succeeded,
)
from quorum.throttle import Locked, client_address


def throttled_login(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a Django login view: a POST that signs in redirects, any other POST failed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        attempt = {
            "username": str(request.POST.get("username", ""))[:150],
            "address": client_address(request),
        }
        try:
            login_attempt_check(**attempt)
        except Locked as locked:
            return _locked_page(request, locked)
        response = view(request, *args, **kwargs)
        if response.status_code in (301, 302, 303) and request.user.is_authenticated:
            login_attempt_succeeded(**attempt)
        else:
            login_attempt_failed(**attempt)
        return response

    return wrapper


def _locked_page(request: HttpRequest, locked: Locked) -> HttpResponse:
    minutes = max(1, round(locked.retry_after / 60))
    context = {"retry_after": locked.retry_after, "minutes": minutes}
    response = render(request, "registration/locked.html", context, status=429)
    response["Retry-After"] = str(locked.retry_after)
    return response


login_page = throttled_login(auth_views.LoginView.as_view(template_name="registration/login.html"))
