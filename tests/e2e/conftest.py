"""Real-browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every test under ``tests/e2e`` is marked ``e2e`` (``pytest -m "not e2e"`` leaves them out)
and skipped, with the reason, when Chromium is not installed at ``CHROMIUM``. Playwright
never downloads a browser here: we launch the system one.

Fixtures:
- ``browser``     one headless Chromium for the e2e tests (package scope, see below);
- ``new_page``    ``new_page("desktop" | "phone")`` opens a page in a fresh browser context
                  (own cookies and storage), closed after the test;
- ``page``        a desktop page, the common case;
- ``screenshot``  ``screenshot(page, name)`` saves ``test-artifacts/screenshots/<name>.png``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # imported only to type: the e2e tests are skipped, not broken, without Playwright
    from playwright.sync_api import Browser, BrowserContext, Page

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent.parent
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# How long an assertion waits for the page to get there (htmx loads the portlets lazily).
EXPECT_TIMEOUT_MS = 10_000
SETTLE_TIMEOUT_MS = 5_000  # a page's last requests, before the database is flushed

# The people the portal is built for: a Chinese browser in the company's time zone. (The
# default Chromium asks for en-US, which Django's LocaleMiddleware would honour.)
_COMMON: dict[str, Any] = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {**_COMMON, "viewport": {"width": 1280, "height": 800}},
    "phone": {
        **_COMMON,
        "viewport": {"width": 375, "height": 812},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this package ``e2e``; skip them all when Chromium is missing."""
    missing = None
    if not CHROMIUM.exists():
        missing = pytest.mark.skip(
            reason=f"e2e: Chromium not found at {CHROMIUM} (apt-get install chromium)"
        )
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if missing is not None:
                item.add_marker(missing)


@contextmanager
def _async_unsafe_allowed() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio event loop running in the test's thread from
    ``start()`` to ``stop()``; Django refuses ORM calls from a thread with a running loop
    unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set (it is safe: the loop is idle while the
    test's own code runs). Set for exactly that span, never at import: subprocesses started
    by other tests inherit the environment, and ``manage.py check --deploy`` fails with
    async.E001 when the variable is set."""
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


# Package scope, not session: pytest-django runs the database-free tests after the
# transactional ones (these), and they must not see Playwright's loop nor the variable above.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"e2e: Chromium not found at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with _async_unsafe_allowed():
        playwright = sync_playwright().start()
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                chromium.close()
        finally:
            playwright.stop()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[str], Page]]:
    """``new_page("desktop")`` or ``new_page("phone")``: a page in a fresh context."""
    contexts: list[BrowserContext] = []

    def _new_page(kind: str = "desktop") -> Page:
        context = browser.new_context(**VIEWPORTS[kind])
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    close_settled(contexts)


def close_settled(contexts: list[BrowserContext]) -> None:
    """Close a test's browser contexts once each page's requests have finished (network
    idle, at most :data:`SETTLE_TIMEOUT_MS`), before the database is flushed: a page the
    test left loading (an action's redirect, the badge it fetches on load) would otherwise
    still be reading in the live server's thread while the flush truncates the tables, and
    PostgreSQL may answer the two with a deadlock (CI, 2026-12-06). Every fixture that
    opens contexts closes them with this."""
    from playwright.sync_api import Error as PlaywrightError

    for context in contexts:
        for open_page in context.pages:
            with suppress(PlaywrightError):
                open_page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
        context.close()


@pytest.fixture
def page(new_page: Callable[[str], Page]) -> Page:
    return new_page("desktop")


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """``screenshot(page, name)``: the whole page as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def _screenshot(page: Page, name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return _screenshot
