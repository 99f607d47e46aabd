"""Counting failures per key in Django's cache, for brute-force protection.

Password guessing on ``POST /api/auth/token/`` and ``/login/``, and username probing on
"add a member", all follow one rule: a key (an account name, a client address, a
requester) that failed ``limit`` times within one fixed window is refused until that
window ends; the answer is 429 with ``Retry-After``. Only failures count, so a script
that fetches a token correctly is never slowed down.

The counts live in the ``default`` cache, which must be shared by every web process
(Redis when ``REDIS_URL`` is set, otherwise a file cache under ``var/``; see settings).
The window start is kept beside the count and compared with ``timezone.now()``, not left
to cache expiry, so the rule does not depend on the backend's clock and tests can move
the clock instead of sleeping.
"""

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger("quorum.security")


@dataclass(frozen=True)
class Limit:
    """``limit`` failures of one ``kind`` of key (an account, an address) within
    ``window_seconds`` lock that key for the rest of the window."""

    scope: str
    kind: str
    limit: int
    window_seconds: int


class Locked(Exception):
    """A key is locked: try again in ``retry_after`` seconds (at least 1)."""

    def __init__(self, *, scope: str, kind: str, retry_after: int):
        super().__init__(f"{scope}: too many failures for this {kind}; retry in {retry_after} s")
        self.scope, self.kind, self.retry_after = scope, kind, retry_after


Keys = Iterable[tuple[Limit, str]]  # (the limit, the key's value), e.g. (ACCOUNT, "alice")


def _cache_keys(limit: Limit, value: str) -> tuple[str, str]:
    # The value can be any text a client sends: hash it so the cache key stays short and valid.
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    base = f"throttle:{limit.scope}:{limit.kind}:{digest}"
    return base + ":start", base + ":n"


def _window(limit: Limit, value: str) -> tuple[float | None, int]:
    """(window start, failures in it), or (None, 0) when no window is open."""
    start_key, count_key = _cache_keys(limit, value)
    start = cache.get(start_key)
    if start is None or timezone.now().timestamp() - start >= limit.window_seconds:
        return None, 0
    return start, int(cache.get(count_key) or 0)


def check(keys: Keys) -> None:
    """Raise ``Locked`` (with the longest wait) when any key used up its failures."""
    waits = []
    for limit, value in keys:
        start, failures = _window(limit, value)
        if start is not None and failures >= limit.limit:
            left = start + limit.window_seconds - timezone.now().timestamp()
            waits.append((max(1, int(left + 0.999)), limit))
    if waits:
        retry_after, limit = max(waits, key=lambda w: w[0])
        raise Locked(scope=limit.scope, kind=limit.kind, retry_after=retry_after)


def record_failure(keys: Keys) -> None:
    """Count one failure against each key; log the failure that locks a key."""
    now = timezone.now().timestamp()
    for limit, value in keys:
        timeout = limit.window_seconds + 60  # the entries go once their window is surely over
        start_key, count_key = _cache_keys(limit, value)
        start = cache.get(start_key)
        if start is None or now - start >= limit.window_seconds:
            cache.set_many({start_key: now, count_key: 0}, timeout)
        try:
            failures = cache.incr(count_key)
        except ValueError:  # evicted between the two calls
            cache.set(count_key, 1, timeout)
            failures = 1
        if failures == limit.limit:
            logger.warning(
                "lockout scope=%s %s=%r after %d failures; locked for up to %d s",
                limit.scope, limit.kind, value, failures, limit.window_seconds,
            )  # fmt: skip


def reset(limit: Limit, value: str) -> None:
    """Forget the failures of one key (an account after a correct password)."""
    cache.delete_many(_cache_keys(limit, value))


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or with ``QUORUM_TRUSTED_PROXIES`` reverse
    proxies in front, the address the outermost of them saw (``X-Forwarded-For``, counted
    from its right end).

    Never the left end of ``X-Forwarded-For``: the client writes that part.
    """
    proxies = settings.QUORUM_TRUSTED_PROXIES
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-proxies] if len(hops) >= proxies else remote
