from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction


@transaction.atomic
def user_create(
    *, username: str, password: str, email: str = "", is_staff: bool = False
) -> AbstractBaseUser:
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": f"A user named {username!r} exists already."})
    return User.objects.create_user(
        username=username, password=password, email=email, is_staff=is_staff
    )
