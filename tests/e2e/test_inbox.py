"""The inbox in a real browser: the manager approves two requests at once on a phone, the
counts follow without a reload; every tab on a desktop and a phone, in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.workflow.approval_helpers import deploy_steps, make_role, open_task, user_task
from workflow.models import HistoryEvent, Task
from workflow.services import approvals, engine, external

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375
TABS = ("todo", "done", "started", "copied")


def _language(user: User, language: str) -> None:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page scrolls sideways: {width}px"


@pytest.fixture
def requests(db: None, employee: User, colleague: User, dept_head: User) -> dict[str, int]:
    """Two plain approvals for 李娜 from 张伟, a third from 王芳 that needs a reason, a group
    task she may claim, an ERP task, an approval she already made, a copy, and a trip she
    asked for herself."""
    deploy_steps(user_task("Approve", assignee="${manager(initiator)}"), key="leave")
    deploy_steps(
        user_task(
            "Approve",
            assignee="${manager(initiator)}",
            fields=(
                '<camunda:formField id="reason" label="Reason" type="string">'
                '<camunda:validation><camunda:constraint name="required"/>'
                "</camunda:validation></camunda:formField>"
            ),
        ),
        key="purchase",
    )
    make_role("reviewers", dept_head)
    deploy_steps(user_task("Review", groups="reviewers"), key="review")
    deploy_steps(user_task("Book", assignee="wangfang"), key="travel")

    def begin(key: str, who: User, title: str) -> int:
        return engine.instance_start(key, initiator=who, title=title, variables={})

    first = begin("leave", employee, "年假 3 天 · Annual leave")
    second = begin("leave", employee, "调休 1 天 · Day off")
    needs = begin("purchase", colleague, "采购显示器 · Monitor")
    Task.objects.filter(instance_id=needs).update(priority=80)
    begin("review", colleague, "合同审阅 · Contract review")
    begin("travel", dept_head, "出差上海 · Trip to Shanghai")
    done = begin("leave", colleague, "病假 · Sick leave")
    approvals.task_approve(open_task(done).pk, user=dept_head)
    approvals.instance_copy(needs, user=colleague, recipients=["lina"], comment="请知悉")
    external.external_task_upsert(
        source="ERP",
        external_id="PO-7",
        assignee="lina",
        title="付款申请 PO-7 · Payment",
        url="https://erp.example.com/po/7",
        source_updated_at=timezone.now(),
        category="付款",
    )
    return {"first": first, "second": second}


def test_the_manager_bulk_approves_on_a_phone(
    live_server: Any,
    requests: dict[str, int],
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = new_page("phone")
    sign_in(page, live_server.url, dept_head.username)
    page.goto(f"{live_server.url}/workflow/inbox/")
    todo = page.locator('[data-testid="count-todo"]')
    # two leave requests, the purchase, the group task, the ERP task
    expect(todo).to_have_text("5")
    expect(page.locator("#inbox-badge")).to_have_text("5")
    expect(page.locator('[data-testid="count-copied"]')).to_have_text("1")
    _no_horizontal_scroll(page)

    # the two plain approvals are approvable; the one that needs a reason is not
    boxes = page.locator('input[name="task"]')
    expect(boxes).to_have_count(2)
    page.get_by_text(re.compile("全选可同意的任务|Select all approvable")).click()
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    bar = page.locator("#bulk-form")
    expect(bar).to_be_in_viewport()
    box = bar.locator("button").bounding_box()
    assert box is not None and box["height"] >= 44
    screenshot(page, "inbox-bulk-phone-zh")

    # the page's own dialog, not the browser's confirm(): how many, one shared opinion
    page.on("dialog", lambda dialog: pytest.fail(f"a browser dialog: {dialog.message}"))
    url_before = page.url
    page.evaluate("window.__noReload = true")
    bar.locator("button").click()
    dialog = page.locator("#bulk-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-bulk-count]")).to_contain_text("2")
    dialog.locator("button.chip").first.click()  # a 常用语 (a default: she has none of her own)
    opinion = dialog.locator("textarea").input_value()
    assert opinion
    screenshot(page, "inbox-bulk-dialog-phone-zh")
    dialog.locator("[data-bulk-submit]").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".messages")).to_contain_text(re.compile("2"))
    # the counts follow without a reload
    expect(todo).to_have_text("3")
    expect(page.locator("#inbox-badge")).to_have_text("3")
    assert page.evaluate("window.__noReload === true")
    assert page.url == url_before
    expect(page.locator('input[name="task"]')).to_have_count(0)
    screenshot(page, "inbox-approved-phone-zh")
    for key in ("first", "second"):
        done = Task.objects.get(instance_id=requests[key])
        assert done.state == "completed"
        record = HistoryEvent.objects.get(task_id=done.pk, kind="task-completed")
        assert record.data == {"comment": opinion}  # the one opinion, in every record


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_tab_on_a_desktop_and_a_phone(
    live_server: Any,
    requests: dict[str, int],
    dept_head: User,
    employee: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    _language(dept_head, "en" if language == "en" else "zh-hans")
    _language(employee, "en" if language == "en" else "zh-hans")
    for viewport in ("desktop", "phone"):
        page = new_page(viewport)
        sign_in(page, live_server.url, dept_head.username)
        for tab in TABS:
            page.goto(f"{live_server.url}/workflow/inbox/?tab={tab}")
            expect(page.locator('[data-testid="row"]').first).to_be_visible()
            expect(page.locator(f'#inbox-tabs a[href*="tab={tab}"]')).to_have_attribute(
                "aria-current", "page"
            )
            if viewport == "phone":
                _no_horizontal_scroll(page)
            screenshot(page, f"inbox-{tab}-{viewport}-{language}")
        # the filters: the search narrows the list without a reload (htmx)
        page.goto(f"{live_server.url}/workflow/inbox/?tab=todo")
        filters = page.locator("#inbox-filters")
        if viewport == "phone":
            expect(filters).not_to_have_attribute("open", "")
            filters.locator("summary").click()
        filters.locator('input[name="q"]').fill("Monitor")
        expect(page.locator('[data-testid="row"]')).to_have_count(1)
        expect(page).to_have_url(re.compile(r"q=Monitor"))
        screenshot(page, f"inbox-filtered-{viewport}-{language}")
        # the employee's "started by me" shows where each request stands
        other = new_page(viewport)
        sign_in(other, live_server.url, employee.username)
        other.goto(f"{live_server.url}/workflow/inbox/?tab=started")
        expect(other.locator('[data-testid="row"]')).to_have_count(2)
        expect(other.locator(".inbox-row .now").first).to_contain_text("李娜")
        screenshot(other, f"inbox-started-employee-{viewport}-{language}")
