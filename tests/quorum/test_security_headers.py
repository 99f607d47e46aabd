"""Security headers on every kind of response, and ``check --deploy`` with production env."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import path

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom", boom)]


def assert_hardened(response) -> None:
    for name, value in EXPECTED.items():
        assert response.get(name) == value, (name, response.status_code)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_html_pages(make_user):
    assert_hardened(Client().get("/login/"))
    browser = Client()
    browser.force_login(make_user("ann"))
    assert_hardened(browser.get("/"))


def test_api_json(api):
    response = api.get("/api/projects/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_hardened(response)
    assert_hardened(Client().post("/api/auth/token/", {"username": "x", "password": "y"}))


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files():
    """Served by WhiteNoise, which answers before the inner middleware run."""
    response = Client().get("/static/css/quorum.css")
    assert response.status_code == 200
    assert_hardened(response)


def test_error_responses(make_user):
    browser = Client()
    browser.force_login(make_user("ann"))
    assert_hardened(browser.get("/no/such/page"))  # 404
    assert_hardened(browser.get("/api/jobs/999999"))  # API 404
    assert_hardened(Client().get("/api/projects/"))  # 401
    assert_hardened(browser.post("/login/", {}, HTTP_X_CSRFTOKEN="x", secure=False))


@override_settings(ROOT_URLCONF=__name__)
def test_server_errors():
    response = Client(raise_request_exception=False).get("/boom")
    assert response.status_code == 500
    assert_hardened(response)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "quorum.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "QUORUM_BEHIND_TLS": "1",
        "ALLOWED_HOSTS": "quorum.example.org",
        "QUORUM_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        # The security checks: the schema's own warnings are tested with the schema.
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security",
         "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_tls_settings(tmp_path):
    """The clean run above is the settings' doing: without QUORUM_BEHIND_TLS it warns."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "quorum.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "QUORUM_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security",
         "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


@override_settings(DEBUG=True)
def test_debug_error_pages_keep_their_inline_style_but_pages_keep_the_policy(make_user):
    browser = Client()
    browser.force_login(make_user("ann"))
    assert "Content-Security-Policy" not in browser.get("/no/such/page")
    assert "Content-Security-Policy" in browser.get("/")
