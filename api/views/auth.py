"""``/api/auth/token/``: get a token (throttled), revoke it; ``/api/auth/token/rotate``.

``POST`` with ``username`` and ``password`` answers ``{"token"}`` (an expired token is
replaced). Wrong passwords count against the account and the client address
(``annotation.services.users``); a locked one answers 429 with ``Retry-After`` before the
password is even checked. ``DELETE`` revokes the caller's token (204); ``POST .../rotate``
answers a new token and kills the old one.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.services.users import (
    login_attempt_check,
    login_attempt_failed,
    login_attempt_succeeded,
)
from api.tokens import token_issue, token_revoke, token_rotate
from quorum.throttle import Locked, client_address

TokenResponse = inline_serializer("TokenResponse", {"token": serializers.CharField()})


class TokenView(APIView):
    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def get_authenticators(self):
        # Getting a token needs no credentials but the password: a stale session cookie or
        # an expired token in the header must not turn the request into a 401/403.
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(
        auth=[],
        request=AuthTokenSerializer,
        responses={200: TokenResponse, 400: OpenApiResponse(description="Wrong credentials"),
                   429: OpenApiResponse(description="Too many failures; see Retry-After")},
    )  # fmt: skip
    def post(self, request):
        username = str(request.data.get("username", ""))[:150]
        address = client_address(request)
        try:
            login_attempt_check(username=username, address=address)
        except Locked as locked:
            raise Throttled(wait=locked.retry_after) from locked
        data = AuthTokenSerializer(data=request.data, context={"request": request})
        if not data.is_valid():
            login_attempt_failed(username=username, address=address)
            return Response(data.errors, status=status.HTTP_400_BAD_REQUEST)
        login_attempt_succeeded(username=username, address=address)
        return Response({"token": token_issue(user=data.validated_data["user"]).key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRotateView(APIView):
    @extend_schema(request=None, responses={200: TokenResponse})
    def post(self, request):
        return Response({"token": token_rotate(user=request.user).key})
