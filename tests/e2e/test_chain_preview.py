"""The approval chain in a real browser: the start form's preview follows what 张伟 types
(htmx), and the task page leads with the approval timeline.

Screenshots, desktop and phone, Chinese and English: ``chain-start-<kind>-<zh|en>`` (the
start form with its preview) and ``chain-task-<kind>-<zh|en>`` (the task page's timeline).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.models import Department, User
from tests.e2e.test_shell import sign_in
from tests.e2e.test_task_page import claim, no_horizontal_scroll, set_language
from tests.factories import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def gm(org: dict[str, Department]) -> User:
    """陈总, head of the company: the department head two levels above 张伟."""
    user = UserFactory.create(
        username="chenzong", first_name="总", last_name="陈", department=org["root"]
    )
    org["root"].head = user
    org["root"].save()
    return user


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_start_form_previews_who_will_approve(
    live_server: Any,
    employee: User,
    dept_head: User,
    gm: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    claim(employee)  # deploys the expense claim
    set_language(employee, "zh-hans" if language == "zh" else "en")
    base = live_server.url
    for kind in ("desktop", "phone"):
        page = new_page(kind)
        sign_in(page, base, employee.username)
        page.goto(f"{base}/workflow/processes/expense_claim/start/")
        chain = page.locator("#chain")
        expect(chain).to_contain_text("李娜")  # the manager, before the amount is known
        expect(chain.locator(".chain-waiting")).to_be_visible()
        expect(chain).not_to_contain_text("陈总")
        page.locator("#id_amount").fill("8000")
        page.locator("#id_amount").blur()
        expect(chain).to_contain_text("陈总")  # 5000 and more: the department head too
        expect(chain.locator(".chain-waiting")).to_have_count(0)
        if kind == "phone":
            no_horizontal_scroll(page)
        screenshot(page, f"chain-start-{kind}-{language}")
        page.locator("#id_amount").fill("300")
        page.locator("#id_amount").blur()
        expect(chain).not_to_contain_text("陈总")
        page.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_task_page_leads_with_the_timeline(
    live_server: Any,
    employee: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    task = claim(employee)
    set_language(dept_head, "zh-hans" if language == "zh" else "en")
    base = live_server.url
    for kind in ("desktop", "phone"):
        page = new_page(kind)
        sign_in(page, base, dept_head.username)
        page.goto(f"{base}/workflow/tasks/{task.pk}/")
        flow = page.locator("#history .timeline")
        expect(flow.locator(".kind-start")).to_contain_text("张伟")
        expect(flow.locator(".kind-now")).to_contain_text("李娜")
        expect(flow.locator(".kind-comment")).to_contain_text("发票已附上，请审批。")
        # the timeline comes before the form; the diagram is folded
        history_y = page.locator("#history").bounding_box()
        form_y = page.locator("#form").bounding_box()
        assert history_y is not None and form_y is not None and history_y["y"] < form_y["y"]
        expect(page.locator("#diagram svg")).to_be_hidden()
        if kind == "phone":
            no_horizontal_scroll(page)
        screenshot(page, f"chain-task-{kind}-{language}")
        page.close()
