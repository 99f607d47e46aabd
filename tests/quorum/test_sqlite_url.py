"""SQLite named by DATABASE_URL=sqlite:///... behaves like the default SQLite path: WAL, a busy
timeout and BEGIN IMMEDIATE, so six annotators labeling at once never see "database is locked".
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def settings_in_fresh_process(env: dict[str, str]) -> dict:
    code = ("import json, django; from django.conf import settings; django.setup();"
            "print(json.dumps(settings.DATABASES['default']['OPTIONS']))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def sqlite_url_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return env | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'quorum.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "quorum.settings",
        "SECRET_KEY": "test-only",
        "QUORUM_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }


def test_a_sqlite_url_gets_the_same_options_as_the_default_path(sqlite_url_env, tmp_path):
    default_env = {k: v for k, v in sqlite_url_env.items() if k != "DATABASE_URL"}
    default_env["SQLITE_PATH"] = str(tmp_path / "default.sqlite3")
    from_url = settings_in_fresh_process(sqlite_url_env)
    assert from_url == settings_in_fresh_process(default_env)
    assert from_url["transaction_mode"] == "IMMEDIATE" and from_url["timeout"] >= 5


@pytest.mark.slow
def test_six_annotators_at_once_through_a_sqlite_url(sqlite_url_env):
    out = subprocess.run([sys.executable, "-m", "tests.quorum.sqlite_url_crowd"], env=sqlite_url_env, cwd=REPO,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert (result["engine"], result["journal_mode"]) == ("sqlite", "wal")
    assert set(result["codes"]) <= {"200", "201", "204"}, result  # never a 500 "database is locked"
    assert result["annotations"] == 90 * 2  # every item reached its overlap, nothing lost
