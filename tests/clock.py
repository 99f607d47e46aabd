"""Moving Django's clock (``django.utils.timezone.now``) instead of sleeping.

Token expiry, session expiry and the brute-force windows all read ``timezone.now()``,
so a test can jump past a window in no time.
"""

from datetime import timedelta

import pytest
from django.utils import timezone


class Clock:
    def __init__(self, monkeypatch):
        self.offset = timedelta()
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + self.offset)

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)
