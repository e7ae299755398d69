"""The approver's opinion (审批意见) in a real browser: 李娜 approves a step that asks for her
handwritten signature — the confirm button first says she has not signed, she signs on the
canvas (the mouse on a desktop, her finger on a phone), taps a 常用语 and approves; the opinion
is the record's comment and the drawing is kept with the task. Screenshots of the approve
dialog with the phrases and the pad: ``opinion-approve-<desktop|phone>-zh``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow.models import HistoryEvent, Phrase, Task

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

KEY = "purchase_sign"


def signing_step(approver: User) -> None:
    step = user_task("gm", assignee=approver.username, props={"signature": "required"})
    deploy_steps(step.replace('name="gm step"', 'name="总经理审批"'), key=KEY)


def draw_with_the_mouse(page: Page, canvas: Locator) -> None:
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + box["height"] - 40)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + 30 + step * 12, y + 40 + (step % 6) * 18, steps=2)
    page.mouse.up()


def draw_with_a_finger(page: Page, canvas: Locator) -> None:
    """Touch events as a phone sends them (Playwright's touchscreen only taps)."""
    box = canvas.bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    points = [(box["x"] + 20 + i * 10, box["y"] + 30 + (i % 5) * 20) for i in range(0, 28)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_at(points[0])]})
    for point in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_at(point)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _at(point: tuple[float, float]) -> dict[str, float]:
    return {"x": point[0], "y": point[1]}


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_sign_tap_a_phrase_and_approve(
    live_server: Any,
    employee: User,
    dept_head: User,
    kind: str,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    Phrase.objects.create(owner=dept_head, text="同意。", position=0)
    Phrase.objects.create(owner=dept_head, text="情况属实，同意。", position=1)
    signing_step(dept_head)
    task = open_task(start(employee, key=KEY))
    page = new_page(kind)
    sign_in(page, live_server.url, dept_head.username)
    page.goto(f"{live_server.url}/workflow/tasks/{task.pk}/")
    page.locator(".actionbar [data-action=approve]").click()
    dialog = page.locator("#dlg-approve")
    expect(dialog).to_be_visible()
    # one opinion box, its phrases under it, the pad below
    expect(dialog.locator("textarea")).to_have_count(1)
    expect(dialog.locator("button.chip")).to_have_count(2)
    expect(
        dialog.get_by_role("link", name=re.compile("管理常用语|Manage saved phrases"))
    ).to_be_visible()
    canvas = dialog.locator("[data-signature-pad] canvas")
    expect(canvas).to_be_visible()

    # not signed yet: the pad says so and nothing is sent
    dialog.locator("[data-confirm=approve]").click()
    expect(dialog.locator("[data-signature-pad] .error")).to_be_visible()
    assert Task.objects.get(pk=task.pk).state == "open"

    if kind == "phone":
        draw_with_a_finger(page, canvas)
    else:
        draw_with_the_mouse(page, canvas)
    signature = dialog.locator("input[data-signature]")
    expect(signature).to_have_value(re.compile(r"^data:image/png;base64,"))
    expect(dialog.locator("[data-signature-pad] .error")).to_have_count(0)
    dialog.locator("button.chip", has_text="情况属实，同意。").click()
    expect(dialog.locator("textarea")).to_have_value("情况属实，同意。")
    if kind == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"horizontal scroll: {width}px"
    screenshot(page, f"opinion-approve-{kind}-zh")

    dialog.locator("[data-confirm=approve]").click()
    expect(page).not_to_have_url(re.compile(rf"/workflow/tasks/{task.pk}/$"))
    done = Task.objects.get(pk=task.pk)
    assert done.state == "completed" and done.outcome == "approved" and done.signature
    record = HistoryEvent.objects.get(task_id=task.pk, kind="task-completed")
    assert record.data == {"comment": "情况属实，同意。"}


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_keep_ones_phrases(
    live_server: Any,
    dept_head: User,
    kind: str,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    """From an opinion box's "Manage saved phrases" to the page: add one, move it up, remove
    one (htmx, in place), and back."""
    Phrase.objects.create(owner=dept_head, text="同意。", position=0)
    Phrase.objects.create(owner=dept_head, text="不同意。", position=1)
    page = new_page(kind)
    sign_in(page, live_server.url, dept_head.username)
    page.goto(f"{live_server.url}/workflow/phrases/?next=/workflow/inbox/")
    items = page.locator('[data-testid="phrase"] .text')
    expect(items).to_have_text(["同意。", "不同意。"])
    page.locator("#id_text").fill("情况属实，同意。")
    page.locator("#phrase-list form.add button[type=submit]").click()
    expect(items).to_have_text(["同意。", "不同意。", "情况属实，同意。"])
    page.locator('[data-testid="phrase"]').nth(2).locator('input[value="up"] + button').click()
    expect(items).to_have_text(["同意。", "情况属实，同意。", "不同意。"])
    page.locator('[data-testid="phrase"]').nth(2).locator("button.danger").click()
    expect(items).to_have_text(["同意。", "情况属实，同意。"])
    if kind == "phone":
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"horizontal scroll: {width}px"
    screenshot(page, f"opinion-phrases-{kind}-zh")
    assert list(
        Phrase.objects.filter(owner=dept_head).order_by("position").values_list("text", flat=True)
    ) == ["同意。", "情况属实，同意。"]
    page.locator(".pagehead a.button").click()
    expect(page).to_have_url(re.compile(r"/workflow/inbox/$"))
