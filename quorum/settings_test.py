"""Test settings: the real settings, with a throwaway secret and fast password hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from quorum.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
