"""打印 in a real browser (issue 15, item 4): the instance page's 打印 button opens the clean
printout (in its own tab) with the approval record, the opinion and the amount in capitals
(大写), and its PDF is served (the PDF's content is checked by tests/workflow/test_printout.py).

Screenshots, desktop and phone, Chinese and English: ``printout-<kind>-<zh|en>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.e2e.test_task_page import claim, no_horizontal_scroll, set_language
from workflow.models import Task
from workflow.services import approvals

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_printout_shows_the_record_and_the_amount_in_words(
    live_server: Any,
    employee: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    language: str,
) -> None:
    task = claim(employee)
    approvals.task_approve(task.pk, user=dept_head, comment="情况属实，同意。")
    instance_id = Task.objects.get(pk=task.pk).instance_id
    set_language(employee, "zh-hans" if language == "zh" else "en")
    base = live_server.url
    for kind in ("desktop", "phone"):
        page = new_page(kind)
        sign_in(page, base, employee.username)
        page.goto(f"{base}/workflow/instances/{instance_id}/")
        with page.context.expect_page() as opened:  # the printout opens in its own tab
            page.get_by_role("link", name="打印" if language == "zh" else "Print").first.click()
        page = opened.value
        page.wait_for_load_state()
        assert page.url.endswith(f"/workflow/instances/{instance_id}/print/")
        body = page.locator("body")
        expect(body).to_contain_text("情况属实，同意。")  # the opinion is the record
        expect(body).to_contain_text("李娜")
        expect(body).to_contain_text("叁仟贰佰元整")  # 3,200.00 in capitals
        expect(body).to_contain_text("3,200.00")
        expect(page.locator("nav.mainnav")).to_have_count(0)  # a clean page
        if kind == "phone":
            no_horizontal_scroll(page)  # the record wraps inside a phone's screen
        screenshot(page, f"printout-{kind}-{language}")
        pdf = page.request.get(f"{base}/workflow/instances/{instance_id}/print/?format=pdf")
        assert pdf.ok and pdf.body().startswith(b"%PDF")
