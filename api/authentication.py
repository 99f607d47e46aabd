"""Token authentication in one precompiled statement (``annotation.rawsql.token_user``).

DRF's ``TokenAuthentication`` runs ``Token.objects.select_related("user").get(key=...)``
on every request. On the labeling hot path (two requests per label) building that ORM
query cost more CPU than PostgreSQL spent running it, so the statement is written once.
The rules are DRF's, plus expiry: an unknown key, an expired token
(``QUORUM_TOKEN_TTL_HOURS``, see ``api.tokens``) or an inactive user is refused.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.rawsql import token_user
from api.tokens import token_expired


class FastTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, without the per-request ORM compile.

    ``request.auth`` is a ``Token`` carrying the key, the user and ``created``; a token is
    never saved from a request.
    """

    def authenticate_credentials(self, key: str):
        user = token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # token_created: the `extra` column that fetch_instance sets as an attribute.
        if token_expired(user.token_created):  # type: ignore[attr-defined]
            raise exceptions.AuthenticationFailed(_("Token expired."))
        return user, Token(key=key, user=user, created=user.token_created)  # type: ignore[attr-defined]
