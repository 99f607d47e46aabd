"""Browser fixtures: the system Chromium driven by Playwright against a live Django server.

Reuse them from any ``tests/browser/test_*.py``::

    @pytest.mark.browser
    def test_something(page, live_url, login, screenshot, make_user):
        make_user("ann")
        login(page, "ann")                 # password is "pw-ann", as in tests/conftest.py
        page.goto(live_url + "/projects/1/label")
        screenshot(page, "labeling")       # -> tests/artifacts/labeling.png

Fixtures: ``browser`` (session), ``new_context()`` (a fresh, isolated browser profile: a
second annotator), ``page`` (one page in its own context), ``live_url``, ``login``,
``screenshot``, ``page_errors`` (uncaught JavaScript errors of ``page``).
"""

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer

CHROMIUM = Path(os.environ.get("QUORUM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
# Short waits: a page that takes longer than this to react is a failure worth seeing.
TIMEOUT_MS = 5_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"browser tests need Chromium at {CHROMIUM} (apt install chromium)"
    if os.environ.get("CI") or os.environ.get("QUORUM_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


class _SerializedWSGIServer(ThreadedWSGIServer):
    """A threaded server that runs one request at a time through the app.

    With an in-memory SQLite test database Django hands every server thread the *same*
    connection; two concurrent requests would interleave their transactions on it. Holding
    a lock around the application keeps each request's transaction whole. On PostgreSQL
    (CI) the ordinary threaded server is used, so real concurrency is exercised there.
    """

    def set_app(self, application):
        lock = threading.Lock()

        def serialized(environ, start_response):
            with lock:
                return application(environ, start_response)

        super().set_app(serialized)


class _InFlight:
    """Counts requests the live server is still working on, so a test's teardown can wait
    for them before the database is flushed. A request whose page was closed keeps running
    on the server; flushing under it deadlocks on PostgreSQL (TRUNCATE against its locks)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def wrap(self, application):
        def counted(environ, start_response):
            with self._idle:
                self._count += 1
            try:
                result = application(environ, start_response)
            except BaseException:
                self._done()
                raise
            return _ClosingIterable(result, self._done)

        return counted

    def _done(self) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout)


class _ClosingIterable:
    """The response body, reporting when the server has closed it (Django's end of request:
    its request_finished signal, which touches the database, runs inside ``close``)."""

    def __init__(self, result, on_close) -> None:
        self._result, self._on_close = result, on_close

    def __iter__(self):
        return iter(self._result)

    def close(self) -> None:
        try:
            if hasattr(self._result, "close"):
                self._result.close()
        finally:
            self._on_close()


def _counting(server_class, in_flight: _InFlight):
    class Counting(server_class):
        def set_app(self, application):
            super().set_app(in_flight.wrap(application))

    return Counting


@pytest.fixture(scope="session")
def _live_server(django_db_setup, django_db_blocker) -> Iterator[tuple[str, _InFlight]]:
    from pytest_django.live_server_helper import LiveServer

    in_flight = _InFlight()
    with django_db_blocker.unblock():
        server = LiveServer("localhost", start=False)
        base = server.thread.server_class
        if server.thread.connections_override:  # in-memory SQLite: one shared connection
            base = _SerializedWSGIServer
        server.thread.server_class = _counting(base, in_flight)
        server.start()
    server._live_server_modified_settings.enable()
    yield server.url, in_flight
    server._live_server_modified_settings.disable()
    server.stop()


@pytest.fixture
def live_url(_live_server, transactional_db) -> Iterator[str]:
    """Base URL of the live server (no trailing slash). The database is transactional:
    the server's threads must see what the test commits. On teardown it waits for requests
    still running on the server (browser contexts, which depend on this fixture, are closed
    first) so the flush never races a request."""
    url, in_flight = _live_server
    yield url
    if not in_flight.wait_idle():
        pytest.fail("the live server was still handling a request 10 s after the test ended")


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread, which makes Django refuse
    # ORM calls from the test ("async unsafe"). Nothing here is async: the loop only drives
    # the browser, so the check is switched off while the browser lives.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_context(browser, live_url) -> Iterator[Callable]:
    """Make isolated browser contexts (own cookies and localStorage); closed after the test."""
    contexts = []

    def make(**options):
        context = browser.new_context(viewport=VIEWPORT, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


@pytest.fixture
def page(new_context, page_errors):
    page = new_context().new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    return page


@pytest.fixture
def login(live_url) -> Callable:
    """``login(page, username)``: sign in through the login form (password "pw-<username>")."""

    def do_login(page, username: str) -> None:
        page.goto(f"{live_url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_url}/")

    return do_login


@pytest.fixture
def screenshot() -> Callable:
    """``screenshot(page, name)`` saves tests/artifacts/<name>.png (gitignored) and returns it."""

    def take(page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
