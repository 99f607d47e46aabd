"""Token authentication in one precompiled statement.

DRF's ``TokenAuthentication`` runs ``Token.objects.select_related("user").get(key=...)``
on every request. On the labeling hot path (two requests per label) building that ORM
query cost more CPU than PostgreSQL spent running it, so the statement is written once.
The rules are DRF's, plus expiry: an unknown key, an expired token
(``QUORUM_TOKEN_TTL_HOURS``, see ``api.tokens``) or an inactive user is refused.
"""

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.rawsql import fetch_instance, field_value, model_columns
from api.tokens import token_expired


class FastTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, without the per-request ORM compile.

    ``request.auth`` is a ``Token`` carrying the key, the user and ``created``; a token is
    never saved from a request.
    """

    def authenticate_credentials(self, key: str):
        user_model = get_user_model()
        user = fetch_instance(
            user_model, _token_user_sql(connection.vendor), [key], extra=("token_created",)
        )
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # token_created: the `extra` column that fetch_instance sets as an attribute.
        created = field_value(Token, "created", user.token_created)  # type: ignore[attr-defined]
        if token_expired(created):
            raise exceptions.AuthenticationFailed(_("Token expired."))
        return user, Token(key=key, user=user, created=created)


@lru_cache(maxsize=4)
def _token_user_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    user_model = get_user_model()
    columns = model_columns(user_model, alias="u")
    return (
        f"SELECT {columns}, t.{quote('created')} FROM {quote(Token._meta.db_table)} t "
        f"JOIN {quote(user_model._meta.db_table)} u ON u.id = t.user_id"
        f" WHERE t.{quote('key')} = %s"
    )
