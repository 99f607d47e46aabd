"""Shared fixtures: users in every role, a project, and API clients signed in as each."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from annotation.models import Role
from annotation.services.projects import membership_set, project_create
from annotation.services.users import user_allow_project_creation

ROLES = [r.value for r in Role]
pytest_plugins = ["tests.clock"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Brute-force counts (quorum/throttle.py) start at zero in every test."""
    cache.clear()


# Property-based tests: no per-example deadline (this machine is shared; a slow example is not a
# wrong one), and in CI a fixed example sequence, so a red build can be rerun and fixed.
hypothesis_settings.register_profile("quorum", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "quorum")


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(
            username=username, password="pw-" + username, **extra
        )

    return make


@pytest.fixture
def manager(make_user):
    """A user who may start projects (``can_create_project``) and manages ``project``."""
    user = make_user("manager")
    user_allow_project_creation(user=user)
    return user


@pytest.fixture
def project(manager):
    return project_create(
        creator=manager, name="Sentiment", labels=["positive", "negative", "neutral"],
        guidelines="Label the *overall* sentiment.",
    )  # fmt: skip


@pytest.fixture
def members(project, manager, make_user):
    """One user per role in ``project``, plus an outsider (no membership)."""
    users = {"manager": manager}
    for role in ROLES:
        if role != "manager":
            users[role] = make_user(role)
            membership_set(project=project, user=users[role], role=role)
    users["outsider"] = make_user("outsider")
    return users


@pytest.fixture
def client_for():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def api(client_for, manager):
    """An API client signed in as the project's manager."""
    return client_for(manager)


def pytest_sessionfinish(session, exitstatus):
    """In CI (QUORUM_REQUIRE_SERVICES=1) a skipped test is a failed test."""
    if os.environ.get("QUORUM_REQUIRE_SERVICES") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        for report in skipped:
            reporter.write_line(f"SKIPPED IN CI (counts as failure): {report.nodeid}", red=True)
        session.exitstatus = 1


def pytest_collection_modifyitems(config, items):
    """The schemathesis run goes last. In full runs (never in subsets) the integration tests
    that followed it found their jobs' messages on a queue no worker read; until that is
    understood, nothing runs after the fuzzer's live server and broker fixture."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/fuzz/"))
