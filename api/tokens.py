"""API tokens: issued, rotated, revoked and expired here, and nowhere else.

DRF's ``Token`` is one row per user whose primary key is the secret, so replacing the row
kills the old secret at once. A token lives ``QUORUM_TOKEN_TTL_HOURS`` from its creation
(``token_expired``, checked on every request by ``api.authentication``); changing a
user's password or deactivating them deletes their token (``revoke_on_credentials_change``,
connected in ``ApiConfig.ready``).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token


def token_expired(created: datetime) -> bool:
    return timezone.now() - created >= timedelta(hours=settings.QUORUM_TOKEN_TTL_HOURS)


@transaction.atomic
def token_issue(*, user: User) -> Token:
    """The user's live token, or a new one when there is none or it has expired."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_expired(token.created):
        return token
    return token_rotate(user=user)


@transaction.atomic
def token_rotate(*, user: User) -> Token:
    """A new token for ``user``; the old one, if any, stops working now."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


def revoke_on_credentials_change(sender, instance, update_fields=None, **kwargs) -> None:
    """``pre_save`` of the user model: a new password or ``is_active=False`` revokes the token.

    Saves that name their fields and touch neither (``last_login`` on every sign-in) cost
    no query.
    """
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    before = (
        get_user_model().objects.filter(pk=instance.pk).values_list("password", "is_active").first()
    )
    if before is None:
        return
    password, was_active = before
    if password != instance.password or (was_active and not instance.is_active):
        Token.objects.filter(user_id=instance.pk).delete()
