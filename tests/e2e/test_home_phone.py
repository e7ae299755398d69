"""The 工作台, the catalogue and the console in a real browser (issue 15, items 7-9): on a
390-px phone no page scrolls sideways and the navigation folds into a menu button that
opens and closes from the keyboard too; the console's statistics are drawn by ECharts
(canvases) under the CSP; screenshots in Chinese and English, desktop and phone
(``home-*``, ``catalogue-*``, ``statistics-*``)."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.models import User
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, VIEWPORTS, close_settled
from tests.e2e.test_csp import COLLECT
from tests.factories import PASSWORD
from workflow.models import HistoryEvent, ProcessInstance, Task

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 390
SIZES: dict[str, dict[str, Any]] = {
    "desktop": VIEWPORTS["desktop"],
    "phone": {**VIEWPORTS["phone"], "viewport": {"width": PHONE_WIDTH, "height": 844}},
}


@pytest.fixture
def demo(db: None) -> None:
    """The demo company and processes, their requests spread over the last two weeks with
    steps that took hours (so the statistics have something to show), one of them urgent."""
    call_command(
        "seed_demo",
        allow_production=True,
        password=PASSWORD,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    now = timezone.now()
    for n, instance in enumerate(ProcessInstance.objects.order_by("pk")):
        started = now - datetime.timedelta(days=n % 12, hours=3 * n + 5)
        ended = started + datetime.timedelta(hours=4 + 5 * (n % 4)) if instance.ended_at else None
        ProcessInstance.objects.filter(pk=instance.pk).update(started_at=started, ended_at=ended)
    for n, row in enumerate(HistoryEvent.objects.filter(kind="activity").order_by("pk")):
        HistoryEvent.objects.filter(pk=row.pk).update(duration_ms=(n % 7 + 1) * 1_800_000)
    urgent = Task.objects.filter(state="open", assignee="lina").order_by("pk").first()
    assert urgent is not None
    ProcessInstance.objects.filter(pk=urgent.instance_id).update(urgent=True)


@pytest.fixture
def open_as(
    browser: Browser, live_server: Any
) -> Iterator[Callable[[str, str, str], tuple[Page, list[str]]]]:
    """``open_as(username, size, language)``: a signed-in page, and the errors its console
    reports (CSP violations are collected in ``window.__cspViolations``)."""
    contexts: list[BrowserContext] = []

    def _open(
        username: str, size: str = "phone", language: str = "zh-hans"
    ) -> tuple[Page, list[str]]:
        User.objects.filter(username=username).update(preferred_language=language)
        context = browser.new_context(**SIZES[size])
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(COLLECT)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#content form button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/")
        return page, errors

    yield _open
    close_settled(contexts)


def visit(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")


def assert_fits(page: Page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        f" > {PHONE_WIDTH} + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= inner, f"{page.url} is {width}px wide on a {inner}px phone: {wide}"


def test_no_page_scrolls_sideways_on_a_phone(
    live_server: Any, demo: None, open_as: Callable[..., tuple[Page, list[str]]]
) -> None:
    base = live_server.url
    task = Task.objects.filter(state="open", assignee="lina").order_by("pk").first()
    assert task is not None
    page, _errors = open_as("lina")
    for path in ("/", "/workflow/processes/", "/workflow/inbox/", f"/workflow/tasks/{task.pk}/"):
        visit(page, base + path)
        assert_fits(page)
    page, _errors = open_as("xugang")  # a process administrator: the most menu entries
    for path in (
        "/",
        "/workflow/console/",
        "/workflow/console/incidents/",
        "/workflow/console/jobs/",
        "/workflow/console/statistics/?key=expense_claim",
    ):
        visit(page, base + path)
        assert_fits(page)
    # the console's instances are a card per row: each cell named, none cut off
    visit(page, base + "/workflow/console/")
    first = page.locator("#instance-rows tr").first
    expect(first.locator("td[data-label]").first).to_be_visible()
    assert first.bounding_box()["width"] <= PHONE_WIDTH  # type: ignore[index]


def test_the_menu_button_folds_the_navigation(
    live_server: Any, demo: None, open_as: Callable[..., tuple[Page, list[str]]]
) -> None:
    page, _errors = open_as("xugang")
    button = page.get_by_role("button", name=re.compile("菜单|Menu"))  # 菜单 once translated
    nav = page.locator("#mainnav")
    expect(nav).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    entries = nav.locator("a")
    assert entries.count() >= 6  # an administrator's: designer, console, administration ...
    for index in range(entries.count()):
        box = entries.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH
    expect(nav.get_by_role("link", name="系统管理")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(button).to_be_focused()
    expect(button).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")  # the focused button opens it again
    expect(nav).to_be_visible()
    expect(nav.locator("a[aria-current=page]")).to_be_focused()
    # a tap outside closes it (the open menu with its groups covers the page below the bar:
    # the bar's own corner is outside it)
    page.locator("header.topbar").click(position={"x": 2, "y": 2})
    expect(nav).to_be_hidden()
    desktop, _errors = open_as("xugang", "desktop")
    expect(desktop.locator(".navtoggle")).to_be_hidden()
    expect(desktop.locator("#mainnav")).to_be_visible()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_statistics_are_echarts_canvases_under_the_policy(
    live_server: Any, demo: None, open_as: Callable[..., tuple[Page, list[str]]], size: str
) -> None:
    page, errors = open_as("xugang", size, "en")
    visit(page, live_server.url + "/workflow/console/statistics/?key=expense_claim")
    charts = page.locator("[data-chart]")
    assert charts.count() >= 3
    expect(page.locator("[data-chart][data-chart-drawn=true]")).to_have_count(charts.count())
    for index in range(charts.count()):
        expect(charts.nth(index).locator("canvas")).to_have_count(1)
    # the daily chart fills its card (the hand-drawn one filled 40 % of it)
    card = page.locator("#per-day").bounding_box()
    canvas = page.locator("#per-day canvas").bounding_box()
    assert card is not None and canvas is not None
    assert canvas["width"] >= card["width"] * 0.85
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in errors if "favicon" not in e and "404" not in e] == []
    # durations in words, beside the chart: hours, not "0 s"
    table = page.locator("#by-step table")
    expect(table).to_contain_text(" h")
    expect(table).not_to_contain_text("0 s")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_the_home_catalogue_and_statistics(
    live_server: Any,
    demo: None,
    open_as: Callable[..., tuple[Page, list[str]]],
    screenshot: Callable[[Page, str], Path],
    size: str,
    language: str,
) -> None:
    base = live_server.url
    tag = f"{size}-{'zh' if language == 'zh-hans' else 'en'}"
    page, _errors = open_as("lina", size, language)
    expect(page.locator("#portlet-workflow-todo .hometitle").first).to_be_visible()
    expect(page.locator("#portlet-workflow-todo li.urgent")).to_have_count(1)
    screenshot(page, f"home-{tag}")
    visit(page, base + "/workflow/processes/")
    expect(page.locator(".catalogue-tile .picon").first).to_be_visible()
    screenshot(page, f"catalogue-{tag}")
    admin, _errors = open_as("xugang", size, language)
    visit(admin, base + "/workflow/console/statistics/?key=expense_claim")
    expect(admin.locator("[data-chart-drawn=true]").first).to_be_visible()
    screenshot(admin, f"statistics-{tag}")
