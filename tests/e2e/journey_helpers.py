"""Helpers of the cross-page journeys (``test_journeys.py``): the demo company, people's
languages, a phone-fit check, polling, and a stub of the document system's bridge."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from django.core.management import call_command

from portal.management.commands.seed_demo import DEFAULT_PASSWORD
from portal.models import User
from workflow.engine import cache

if TYPE_CHECKING:
    from playwright.sync_api import Page


def open_nav_link(page: Page, href: str) -> None:
    """Follow the navigation bar's link to ``href`` as a person does: through its group's
    menu (管理, 客户管理 …) when it is in one."""
    link = page.locator(f'nav.mainnav a[href="{href}"]')
    group = page.locator("nav.mainnav .navgroup", has=page.locator(f'a[href="{href}"]'))
    if group.count():
        page.locator("#mainnav[data-ready]").wait_for(state="attached")
        group.locator(".navgroup-toggle").click()
    link.click()


PHONE_WIDTH = 375
INBOX = "/workflow/inbox/"
CATALOGUE = "/workflow/processes/"
CONSOLE = "/workflow/console/"


def seed_demo() -> None:
    """The demo organization and processes (``manage.py seed_demo``), demo password."""
    cache.clear()
    call_command(
        "seed_demo",
        allow_production=True,
        password=DEFAULT_PASSWORD,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def set_language(username: str, language: str) -> None:
    """The person's preferred language ("zh-hans" or "en"), applied at their next request."""
    User.objects.filter(username=username).update(preferred_language=language)


def fits_phone(page: Page) -> None:
    """No horizontal scrolling of the page on a 375 px screen (names the widest culprits).
    Measured once the page's stylesheets have loaded: the DOM (what ``expect`` waits for)
    can be there before them, and the diagram is only framed by ``task.css``."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        f" > {PHONE_WIDTH + 1}).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide: {wide}"


def wait_until(check: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy (jobs may run after the request)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(0.1)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class BridgeStub:
    """A local HTTP server standing in for the document system's bridge."""

    url: str
    requests: list[Received] = field(default_factory=list)


@contextmanager
def bridge_stub(answer: dict[str, Any]) -> Iterator[BridgeStub]:
    """An HTTP server on 127.0.0.1 answering every POST with 200 and ``answer`` as JSON,
    recording what it received; stopped on exit."""
    received: list[Received] = []
    payload = json.dumps(answer).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield BridgeStub(url=f"http://127.0.0.1:{port}/dms", requests=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
