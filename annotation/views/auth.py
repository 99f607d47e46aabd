"""The login page, with the same brute-force rule as the token endpoint.

A locked account or address gets the page with a plain message and status 429 (and
``Retry-After``) before the password is checked; see ``annotation.services.users``.
"""

from django.contrib.auth import views as auth_views
from django.shortcuts import render

from annotation.services.users import (
    login_attempt_check,
    login_attempt_failed,
    login_attempt_succeeded,
)
from quorum.throttle import Locked, client_address


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"

    def post(self, request, *args, **kwargs):
        self.attempt = {
            "username": str(request.POST.get("username", ""))[:150],
            "address": client_address(request),
        }
        try:
            login_attempt_check(**self.attempt)
        except Locked as locked:
            minutes = max(1, round(locked.retry_after / 60))
            context = {"retry_after": locked.retry_after, "minutes": minutes}
            response = render(request, "registration/locked.html", context, status=429)
            response["Retry-After"] = str(locked.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_attempt_failed(**self.attempt)
        return super().form_invalid(form)

    def form_valid(self, form):
        login_attempt_succeeded(**self.attempt)
        return super().form_valid(form)
