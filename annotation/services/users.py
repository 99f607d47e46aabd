"""Accounts: creating users, the brute-force rule for passwords, and finding a user to add.

Password guessing is throttled per account *and* per client address (``quorum.throttle``):
``QUORUM_LOGIN_FAILURES_PER_ACCOUNT`` wrong passwords for one username, or
``QUORUM_LOGIN_FAILURES_PER_ADDRESS`` from one address, within
``QUORUM_LOGIN_WINDOW_SECONDS`` lock that username or address until the window ends. The
same rule guards the token endpoint and the login page, so neither is the weaker door.
"""

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.db import transaction

from quorum import throttle

UNKNOWN_MEMBER = "No active user with that username."


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", is_staff: bool = False) -> User:
    """A new user, after Django's password validators (``AUTH_PASSWORD_VALIDATORS``)."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named {username!r} exists already."})
    try:
        # The unsaved user lets the similarity validator compare with the username and email.
        password_validation.validate_password(password, User(username=username, email=email))
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    return User.objects.create_user(
        username=username, password=password, email=email, is_staff=is_staff
    )


def _login_keys(*, username: str, address: str) -> list[tuple[throttle.Limit, str]]:
    window = settings.QUORUM_LOGIN_WINDOW_SECONDS
    account = throttle.Limit("login", "account", settings.QUORUM_LOGIN_FAILURES_PER_ACCOUNT, window)
    client = throttle.Limit("login", "address", settings.QUORUM_LOGIN_FAILURES_PER_ADDRESS, window)
    # NFKC, as Django's login form applies it before signing in ("ａlice" is "alice"), then
    # casefold: compatibility and case variants of one name share its count, so none of
    # them buys extra guesses.
    return [(account, unicodedata.normalize("NFKC", username).casefold()), (client, address)]


def login_attempt_check(*, username: str, address: str) -> None:
    """Raise ``throttle.Locked`` before checking a password when the account or address is
    locked. Unknown usernames are counted like known ones: the answer never tells them apart."""
    throttle.check(_login_keys(username=username, address=address))


def login_attempt_failed(*, username: str, address: str) -> None:
    throttle.record_failure(_login_keys(username=username, address=address))


def login_attempt_succeeded(*, username: str, address: str) -> None:
    """The account's count starts again; the address's does not (one valid account must not
    reset the count of an address that is guessing other accounts' passwords)."""
    account, _ = _login_keys(username=username, address=address)
    throttle.reset(*account)


def user_for_membership(*, requester: User, username: str) -> User:
    """The active user ``username``, for a manager adding a member.

    A manager needs to know that a name is wrong (a typo must not add nobody silently), and
    the member list shows whom they added, so hiding a user's existence from the person
    adding them is impossible. What is bounded is probing: unknown and deactivated names get
    the same answer, and ``QUORUM_MEMBER_LOOKUP_MISSES`` misses per requester within the
    login window lock the lookup (``throttle.Locked``).
    """
    limit = throttle.Limit(
        "member-lookup", "requester", settings.QUORUM_MEMBER_LOOKUP_MISSES,
        settings.QUORUM_LOGIN_WINDOW_SECONDS,
    )  # fmt: skip
    keys = [(limit, str(requester.pk))]
    throttle.check(keys)
    user = get_user_model().objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        throttle.record_failure(keys)
        raise ValidationError({"username": UNKNOWN_MEMBER})
    return user


def user_allow_project_creation(*, user: User) -> None:
    """Give ``user`` the ``annotation.add_project`` permission (``can_create_project``)."""
    permission = Permission.objects.get(
        content_type__app_label="annotation", codename="add_project"
    )
    user.user_permissions.add(permission)
