"""The brute-force counts live in the production cache, shared by every web process.

A separate Python process (a second gunicorn worker, in effect) records the failures;
this process then sees the account locked. Run against the file cache always, and
against Redis when ``REDIS_URL`` is set (CI).
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from annotation.services.users import login_attempt_check
from quorum.throttle import Locked

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["file"] + (["redis"] if os.environ.get("REDIS_URL") else [])

RECORD = """
import django
django.setup()
from annotation.services.users import login_attempt_failed
for _ in range({n}):
    login_attempt_failed(username={username!r}, address="192.0.2.1")
"""


def production_caches(backend: str, var_dir: Path) -> dict:
    """What quorum/settings.py configures, with or without REDIS_URL."""
    if backend == "redis":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": os.environ["REDIS_URL"],
                "KEY_PREFIX": "quorum-cache",
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                        "LOCATION": str(var_dir / "cache")}}  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_process_failures_lock_the_account_here(backend, tmp_path, settings):
    username = f"victim-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="quorum.settings", QUORUM_VAR_DIR=str(tmp_path),
               SECRET_KEY="x" * 50)  # fmt: skip
    if backend == "file":
        env.pop("REDIS_URL", None)
    limit = settings.QUORUM_LOGIN_FAILURES_PER_ACCOUNT
    with override_settings(CACHES=production_caches(backend, tmp_path)):
        login_attempt_check(username=username, address="198.51.100.7")  # not locked yet
        script = RECORD.format(n=limit, username=username)
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)
        with pytest.raises(Locked) as locked:
            login_attempt_check(username=username, address="198.51.100.7")
        assert locked.value.kind == "account" and locked.value.retry_after > 0
