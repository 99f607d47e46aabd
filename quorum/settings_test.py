"""Test settings: the real settings, with a throwaway secret and fast password hashing.

Integration tests run a real Celery worker in a subprocess, and that worker must
see the rows the test wrote. An in-memory SQLite database lives in one process
only, so the SQLite test database is a file (one per test run: several people
may run the suite at once on one machine). The worker reads the same file
through ``SQLITE_PATH``; PostgreSQL needs nothing special (the worker gets
``DATABASE_URL`` naming the test database).
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

# A test run never shares a folder with a `make run` in the same checkout: the filesystem
# broker's messages, the SQLite files, the cache, uploads, exports and media all live in a
# temporary folder of this run (removed at exit), unless the caller names one. Without this,
# a running worker picked up the tests' job messages.
if "QUORUM_VAR_DIR" not in os.environ:
    _run_dir = tempfile.mkdtemp(prefix="quorum-test-")
    os.environ["QUORUM_VAR_DIR"] = _run_dir
    os.environ.setdefault("MEDIA_ROOT", os.path.join(_run_dir, "media"))
    atexit.register(shutil.rmtree, _run_dir, ignore_errors=True)

from quorum.settings import *  # noqa: F403
from quorum.settings import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    _test_db_dir = VAR_DIR / "test-db"
    _test_db_dir.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db_dir / f"test_{os.getpid()}.sqlite3")}

# A per-run queue name keeps the tests' messages away from any worker on a broker (Redis) that
# others share, a `make run` worker included: it listens on "celery", never on this name.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("QUORUM_CELERY_QUEUE", f"quorum-test-{os.getpid()}")

# Per-process memory is enough for tests (the live server of browser tests is a thread of
# the test process), and tests/conftest.py clears it between tests so brute-force counts
# never leak from one test to the next. Clearing a Redis cache would flush the broker's db.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tests that import items should not each start an audit on the shared worker; the tests of
# the trigger turn it on (tests/annotation/test_audit_triggers.py).
QUORUM_AUDIT_AFTER_IMPORT = False
QUORUM_DRIFT_AFTER_IMPORT = False  # as the audit: the tests that want it turn it on

# The webhook tests send to a receiver they start on 127.0.0.1; the SSRF tests turn this off.
QUORUM_WEBHOOK_ALLOW_PRIVATE = True
