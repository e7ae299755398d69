"""The task page and the instance page in a real browser.

李娜 (dept head) opens 张伟's expense claim on a phone, reads the history, previews the Word
file attached to it and approves with confirmation; on a desktop she returns another request
to an earlier step with the step chooser. Screenshots of both pages, desktop and phone, in
Chinese and English: ``tasks-<task|instance>-<desktop|phone>-<zh|en>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from tests.workflow.test_previews import docx, paragraph
from workflow.demo import DEMO_DIR
from workflow.models import Task
from workflow.services import approvals, definitions, engine

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375


def claim(employee: User) -> Task:
    xml = (DEMO_DIR / "expense_claim.bpmn").read_text(encoding="utf-8")
    definitions.definition_deploy(xml=xml, source_name="expense_claim.bpmn")
    instance_id = engine.instance_start(
        "expense_claim",
        variables={
            "reason": "上海客户拜访差旅",
            "amount": 3200,
            "expense_type": "travel",
            "expense_date": "2025-03-01",
        },
        initiator=employee,
        title="差旅报销 3200 元",
        business_key="BX-2025-001",
    )
    approvals.comment_add(instance_id, user=employee, text="发票已附上，请审批。")
    approvals.attachment_add(
        instance_id,
        user=employee,
        upload=SimpleUploadedFile(
            "出差说明.docx", docx(paragraph("出差三天，拜访两家客户。") + paragraph("合计 3200 元"))
        ),
    )
    return open_task(instance_id)


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"horizontal scroll: page is {width}px wide"


def set_language(user: User, language: str) -> None:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])


def test_dept_head_approves_on_a_phone(
    live_server: Any,
    employee: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    task = claim(employee)
    base = live_server.url
    page = new_page("phone")
    sign_in(page, base, dept_head.username)
    page.goto(f"{base}/workflow/tasks/{task.pk}/")
    expect(page.locator("h1")).to_have_text("直属上级审批")
    no_horizontal_scroll(page)
    # the history: who started it, and the comment
    history = page.locator("#history .timeline")
    expect(history).to_contain_text("张伟")
    expect(history).to_contain_text("发票已附上，请审批。")
    # the diagram, folded, opens and fits its frame
    page.locator("#diagram-card summary").click()
    expect(page.locator("#diagram svg")).to_be_visible()
    frame_width = page.evaluate("document.querySelector('.diagram-scroll').clientWidth")
    assert frame_width <= PHONE_WIDTH
    # the action bar stays at the bottom with approve and reject in reach
    bar = page.locator(".actionbar")
    expect(bar.locator("[data-action=approve]")).to_be_visible()
    expect(bar.locator("[data-action=reject]")).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and box["y"] + box["height"] >= 800
    approve_box = bar.locator("[data-action=approve]").bounding_box()
    assert approve_box is not None and approve_box["height"] >= 44
    screenshot(page, "tasks-task-phone-zh")

    # preview the Word file
    page.locator("#attachments").get_by_role("link", name=re.compile("Preview|预览")).click()
    expect(page.locator("#preview .preview-doc")).to_contain_text("出差三天，拜访两家客户。")
    page.locator("#preview").scroll_into_view_if_needed()
    screenshot(page, "tasks-preview-phone-zh")

    # approve: the one opinion box is in the confirmation dialog
    bar.locator("[data-action=approve]").click()
    dialog = page.locator("#dlg-approve")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("情况属实")
    no_horizontal_scroll(page)
    screenshot(page, "tasks-approve-dialog-phone-zh")
    dialog.locator("[data-confirm=approve]").click()
    expect(page).not_to_have_url(re.compile(rf"/workflow/tasks/{task.pk}/"))
    done = Task.objects.get(pk=task.pk)
    assert done.state == "completed" and done.outcome == "approved"

    # the instance page afterwards, on the phone
    page.goto(f"{base}/workflow/instances/{task.instance_id}/")
    expect(page.locator("#history")).to_contain_text("情况属实")
    no_horizontal_scroll(page)
    screenshot(page, "tasks-instance-phone-zh")


def test_return_with_the_step_chooser(
    live_server: Any,
    employee: User,
    dept_head: User,
    colleague: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    set_language(dept_head, "en")
    deploy_steps(user_task("first", assignee="wangfang"), user_task("second", assignee="lina"))
    instance_id = start(employee)
    approvals.task_approve(open_task(instance_id).pk, user=colleague, comment="looks fine")
    task = open_task(instance_id)
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, dept_head.username)
    page.goto(f"{base}/workflow/tasks/{task.pk}/")
    expect(page.locator("h1")).to_have_text("second step")
    page.locator(".actionbar details.more > summary").click()
    page.locator(".actionbar [data-action=return]").click()
    dialog = page.locator("#dlg-return")
    expect(dialog).to_be_visible()
    options = dialog.locator("select option")
    expect(options).to_have_count(2)
    dialog.locator("select").select_option("first")
    dialog.locator("textarea").fill("Please add the receipts")
    screenshot(page, "tasks-return-dialog-desktop-en")
    dialog.locator("[data-confirm=return]").click()
    expect(page).not_to_have_url(re.compile(rf"/workflow/tasks/{task.pk}/$"))
    assert Task.objects.get(pk=task.pk).outcome == "returned"
    back = open_task(instance_id)
    assert (back.element_id, back.assignee) == ("first", "wangfang")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_screenshots_of_both_pages(
    live_server: Any,
    employee: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    set_language(dept_head, "zh-hans" if language == "zh" else "en")
    task = claim(employee)
    base = live_server.url
    for kind in ("desktop", "phone"):
        page = new_page(kind)
        sign_in(page, base, dept_head.username)
        page.goto(f"{base}/workflow/tasks/{task.pk}/")
        page.locator("#diagram-card summary").click()
        expect(page.locator("#diagram svg")).to_be_visible()
        if kind == "phone":
            no_horizontal_scroll(page)
        if not (kind == "phone" and language == "zh"):  # taken in the journey above
            screenshot(page, f"tasks-task-{kind}-{language}")
        page.goto(f"{base}/workflow/instances/{task.instance_id}/")
        expect(page.locator("#history .kind-now")).to_contain_text("李娜")
        if kind == "phone":
            no_horizontal_scroll(page)
        if not (kind == "phone" and language == "zh"):
            screenshot(page, f"tasks-instance-{kind}-{language}")
