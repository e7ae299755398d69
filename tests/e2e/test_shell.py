"""The portal shell in a real browser: sign-in, language switch, phone layout, the bell."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.utils import translation

from portal import services
from portal.forms import LoginForm
from portal.models import Notification, User
from tests.factories import PASSWORD, AnnouncementFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form and wait for the dashboard."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#content form button[type=submit]").click()
    expect(page).to_have_url(f"{base_url}/")


def wait_for_portlets(page: Page) -> None:
    """The dashboard loads its portlets lazily (htmx): wait until every one has arrived."""
    expect(page.locator(".portlet").first).to_be_visible()
    # The placeholder is ``<p class="muted">Loading…</p>``; the loaded portlets have none.
    expect(page.locator(".portlet > p.muted", has_text=re.compile("Loading|加载"))).to_have_count(0)


def test_employee_signs_in_and_switches_to_chinese(
    live_server: Any, employee: User, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    employee.preferred_language = "en"
    employee.save(update_fields=["preferred_language"])
    AnnouncementFactory.create(title="2025 年春节放假安排", body="请各部门知悉。", is_pinned=True)
    AnnouncementFactory.create(title="新版报销流程上线", body="请使用新流程。")
    base = live_server.url

    # Not signed in: the portal sends the visitor to the login page (Chinese by default).
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.locator("h1")).to_have_text("登录")
    screenshot(page, "login")

    page.locator("#id_username").fill(employee.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="登录").click()

    # Signed in: the dashboard in the employee's own language, English.
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.locator("nav.mainnav")
    expect(nav.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    profile = page.locator("#portlet-profile")
    expect(profile.locator("dl.facts")).to_contain_text(employee.employee_no)
    expect(profile.locator("h2")).to_have_text("My profile")
    expect(page.locator("#portlet-announcements h2")).to_have_text("Announcements")
    wait_for_portlets(page)
    screenshot(page, "dashboard-en-desktop")

    # The language switch: "中文".
    page.locator("form.langswitch").get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(f"{base}/")
    expect(nav.get_by_role("link", name="工作台")).to_be_visible()
    expect(profile.locator("dl.facts")).to_contain_text(employee.employee_no)
    expect(profile.locator("h2")).to_have_text("个人资料")
    expect(page.locator("#portlet-announcements h2")).to_have_text("公告")
    wait_for_portlets(page)
    expect(page.locator("form.langswitch").get_by_role("button", name="中文")).to_have_attribute(
        "aria-pressed", "true"
    )
    screenshot(page, "dashboard-zh-desktop")

    # Remembered: a reload is still in Chinese, and so is the account.
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(nav.get_by_role("link", name="工作台")).to_be_visible()
    expect(profile.locator("h2")).to_have_text("个人资料")
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"


def test_dashboard_fits_a_phone(
    live_server: Any,
    employee: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    AnnouncementFactory.create(title="2025 年春节放假安排", body="请各部门知悉。", is_pinned=True)
    services.notification_send(recipient=employee, kind="system", title="请完善个人资料")
    page = new_page("phone")
    sign_in(page, live_server.url, employee.username)
    expect(page.locator("#portlet-profile dl.facts")).to_contain_text(employee.employee_no)
    wait_for_portlets(page)

    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE_WIDTH, f"horizontal scroll: page is {scroll_width}px wide"
    expect(page.locator("#bell")).to_be_visible()
    expect(page.locator("[data-testid=unread-count]")).to_be_visible()
    switch = page.locator("form.langswitch")
    expect(switch).to_be_visible()
    expect(switch.get_by_role("button", name="中文")).to_be_visible()
    expect(switch.get_by_role("button", name="EN")).to_be_visible()
    screenshot(page, "dashboard-zh-phone")


def test_wrong_password_shows_the_error_in_chinese(
    live_server: Any, employee: User, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    with translation.override("zh-hans"):
        expected = str(LoginForm.error_messages["invalid_login"]) % {
            "limit": settings.AXES_FAILURE_LIMIT
        }
    assert re.search(r"[\u4e00-\u9fff]", expected), f"not translated yet: {expected!r}"

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.locator("#id_username").fill(employee.username)
    page.locator("#id_password").fill("not-the-password")
    page.get_by_role("main").get_by_role("button", name="登录").click()

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#content [role=alert]").first).to_contain_text(expected)
    expect(page.locator("#id_username")).to_have_value(employee.username)
    expect(page.locator("#id_password")).to_have_value("")
    screenshot(page, "login-wrong-password")


def test_bell_counts_unread_and_clears_when_read(
    live_server: Any, employee: User, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    notification = services.notification_send(
        recipient=employee, kind="system", title="您的报销单已审批通过"
    )
    assert notification is not None
    base = live_server.url
    sign_in(page, base, employee.username)

    badge = page.locator("[data-testid=unread-count]")
    expect(badge).to_have_text("1")
    expect(page.locator("#bell")).to_have_attribute("aria-label", re.compile("1"))

    page.locator("#bell").click()
    expect(page).to_have_url(f"{base}/notifications/")
    expect(page.locator("h1")).to_have_text("消息通知")
    item = page.locator("ul.notifications > li", has_text="您的报销单已审批通过")
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    screenshot(page, "notifications-unread")

    item.get_by_role("button").click()
    expect(page).to_have_url(f"{base}/notifications/")
    item = page.locator("ul.notifications > li", has_text="您的报销单已审批通过")
    expect(item).to_have_class(re.compile(r"(^|\s)read(\s|$)"))
    expect(badge).to_have_count(0)
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert Notification.objects.filter(recipient=employee, read_at__isnull=True).count() == 0
    screenshot(page, "notifications-read")
