"""The process catalogue in a real browser: 张伟 opens the catalogue, starts an expense claim,
saves half of it as a draft, comes back to it from "My drafts", completes and submits it.
Screenshots of the catalogue, the start form and the drafts page, desktop and phone, in
Chinese and English (``catalogue-<page>-<desktop|phone>-<zh|en>``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.models import User
from tests.e2e.test_shell import sign_in
from workflow import participants
from workflow.demo import PROCESSES
from workflow.engine import cache
from workflow.models import Draft, ProcessInstance, ProcessSettings
from workflow.services import drafts
from workflow.services.definitions import definition_deploy

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

CATALOGUE = "/workflow/processes/"
DRAFTS = "/workflow/drafts/"


def deploy_demo_processes() -> None:
    """The four demo processes with their catalogue category and description."""
    cache.clear()
    for process in PROCESSES:
        definition_deploy(xml=process.path.read_bytes(), source_name=process.path.name)
        ProcessSettings.objects.update_or_create(
            key=process.key,
            defaults={"category": process.category, "description": process.description},
        )
    participants.forget_settings()


def assert_fits(page: Page) -> None:
    """No horizontal scrolling of the page."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def take_shots(
    page: Page, base: str, screenshot: Callable[[Page, str], Path], kind: str, lang: str
) -> None:
    """The three pages of the area, each checked to fit and saved."""
    page.goto(f"{base}{CATALOGUE}")
    expect(page.locator(".catalogue-tile").first).to_be_visible()
    assert_fits(page)
    screenshot(page, f"catalogue-catalogue-{kind}-{lang}")

    page.goto(f"{base}/workflow/processes/expense_claim/start/")
    expect(page.locator("#id_reason")).to_be_visible()
    assert_fits(page)
    screenshot(page, f"catalogue-start-{kind}-{lang}")

    page.goto(f"{base}{DRAFTS}")
    expect(page.locator(".drafts-row").first).to_be_visible()
    assert_fits(page)
    screenshot(page, f"catalogue-drafts-{kind}-{lang}")


def test_employee_saves_a_draft_and_submits_the_claim(
    live_server: Any,
    employee: User,
    dept_head: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    deploy_demo_processes()
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, employee.username)

    # the catalogue: the demo processes by category, a live search
    page.goto(f"{base}{CATALOGUE}")
    expect(page.locator(".catalogue-group h2", has_text="财务")).to_be_visible()
    expect(page.locator(".catalogue-tile")).to_have_count(4)
    page.locator("#catalogue-q").fill("报销")
    expect(page.locator(".catalogue-tile")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"\?q=%E6%8A%A5%E9%94%80$"))
    page.locator(".catalogue-tile a[href$='/expense_claim/start/']").click()

    # the start form: half filled, saved as a draft
    expect(page.locator("h1")).to_have_text("费用报销")
    page.locator("#id_reason").fill("上海客户拜访差旅费")
    page.locator("button[name=action][value=save]").click()
    expect(page).to_have_url(re.compile(r"/workflow/processes/expense_claim/start/\?draft=\d+$"))
    expect(page.locator(".messages")).to_be_visible()
    draft = Draft.objects.get(owner=employee)
    assert draft.data["reason"] == "上海客户拜访差旅费"
    assert not ProcessInstance.objects.exists()

    # later: from the catalogue to "My drafts", and on with the draft
    page.goto(f"{base}{CATALOGUE}")
    expect(page.locator(".catalogue-drafts .count")).to_have_text("1")
    page.locator(".catalogue-drafts").click()
    expect(page).to_have_url(f"{base}{DRAFTS}")
    expect(page.locator(".drafts-row")).to_have_count(1)
    page.locator(f".drafts-row a[href$='?draft={draft.pk}']").click()
    expect(page.locator("#id_reason")).to_have_value("上海客户拜访差旅费")

    # a mistake first: the amount must be at least 1; the typed values stay
    page.locator("#id_amount").fill("0")
    page.locator("#id_expense_date").fill("2025-05-20")
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator(".field.invalid #id_amount")).to_be_visible()
    expect(page.locator("#id_reason")).to_have_value("上海客户拜访差旅费")
    assert not ProcessInstance.objects.exists()

    page.locator("#id_amount").fill("3200")
    page.locator("#id_expense_type").select_option("travel")
    page.locator("#id_meta-attachments").set_input_files(
        files={"name": "发票.txt", "mimeType": "text/plain", "buffer": "高铁票 553 元".encode()}
    )
    page.locator("button[name=action][value=submit]").click()
    expect(page).to_have_url(re.compile(r"/workflow/instances/\d+/$"))
    instance = ProcessInstance.objects.get()
    assert page.url.endswith(f"/workflow/instances/{instance.pk}/")
    assert instance.variables["amount"] == "3200.00"  # money: exact text, 2 decimals
    assert instance.variables["expense_date"] == "2025-05-20"
    assert instance.initiator == employee.username
    assert list(instance.attachments.values_list("name", flat=True)) == ["发票.txt"]
    assert not Draft.objects.exists()

    # screenshots of every page, with a draft on the drafts page
    drafts.draft_save(
        user=employee,
        key="expense_claim",
        title="苏州客户招待费",
        data={"reason": "苏州恒通项目客户招待", "amount": "8600"},
    )
    drafts.draft_save(user=employee, key="leave_request", title="", data={"reason": "回老家探亲"})
    take_shots(page, base, screenshot, "desktop", "zh")
    phone = new_page("phone")
    sign_in(phone, base, employee.username)
    take_shots(phone, base, screenshot, "phone", "zh")
    # the two buttons of the start form stay at the bottom of a phone's screen
    phone.goto(f"{base}/workflow/processes/expense_claim/start/")
    bar = phone.locator(".start-actions").bounding_box()
    assert bar is not None and bar["y"] + bar["height"] <= 812 + 1

    employee.preferred_language = "en"
    employee.save(update_fields=["preferred_language"])
    page.goto(f"{base}{CATALOGUE}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    take_shots(page, base, screenshot, "desktop", "en")
    take_shots(phone, base, screenshot, "phone", "en")

    # deleting a draft asks first (a disclosure with the real button), then it is gone
    page.goto(f"{base}{DRAFTS}")
    row = page.locator(".drafts-row").first
    row.locator("summary").click()
    expect(row.locator("button.danger")).to_be_visible()
    row.locator("button.danger").click()
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator(".drafts-row")).to_have_count(1)
    assert Draft.objects.filter(owner=employee).count() == 1
