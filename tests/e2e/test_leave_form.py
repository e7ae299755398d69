"""Forms people can fill, in a real browser: 张伟 asks for leave (the days counted as the
dates change, his balance beside them, the hand-over chosen in a picker), makes a mistake
with a file chosen and finds the file still chosen; an amount read back as he types it.
Screenshots ``forms-<leave|money>-<desktop|phone>-zh``."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.models import LeaveBalance, User
from tests.e2e.test_catalogue import assert_fits, deploy_demo_processes
from tests.e2e.test_shell import sign_in
from workflow.models import ProcessInstance

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

LEAVE = "/workflow/processes/leave_request/start/"
EXPENSE = "/workflow/processes/expense_claim/start/"


def test_the_leave_form_counts_the_days(
    live_server: Any,
    employee: User,
    colleague: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    deploy_demo_processes()
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=Decimal("3"))
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, employee.username)
    page.goto(f"{base}{LEAVE}")

    days = page.locator("#id_days")
    page.locator("#id_start_date").fill("2026-12-07")  # Monday
    page.locator("#id_end_date").fill("2026-12-11")  # Friday
    page.locator("#id_end_date").blur()
    expect(days).to_have_value("5")
    expect(page.locator(".leave-days-result")).to_contain_text("3")  # the balance
    expect(page.locator(".leave-days-result.is-error")).to_be_visible()  # over it
    page.locator("#id_start_half").select_option("pm")
    page.locator("#id_end_date").fill("2026-12-09")
    page.locator("#id_end_date").blur()
    expect(days).to_have_value("2.5")
    expect(page.locator(".leave-days-result.is-error")).to_have_count(0)

    # the hand-over: a name typed, a person picked; the user name is never shown
    search = page.locator("#id_handover")
    search.fill("王")
    page.locator(".form-picker-found button[data-pick=wangfang]").click()
    expect(page.locator(".form-picker-chosen .chip-label")).to_have_text("王芳")
    expect(page.locator("input[type=hidden][name=handover]")).to_have_value("wangfang")

    # a mistake (no reason) with a file chosen: the file stays chosen
    page.locator("#id_meta-attachments").set_input_files(
        files={"name": "病历.txt", "mimeType": "text/plain", "buffer": "门诊病历".encode()}
    )
    page.locator("button[name=action][value=submit]").click()
    expect(page.locator(".field.invalid #id_reason")).to_be_visible()
    expect(page.locator(".kept-files")).to_contain_text("病历.txt")
    expect(page.locator(".form-picker-chosen .chip-label")).to_have_text("王芳")
    expect(days).to_have_value("2.5")
    assert_fits(page)
    screenshot(page, "forms-leave-desktop-zh")

    page.locator("#id_reason").fill("家中有事")
    days.evaluate("input => { input.value = '0.5'; }")  # a forged number: the server counts
    page.locator("button[name=action][value=submit]").click()
    expect(page).to_have_url(re.compile(r"/workflow/instances/\d+/$"))
    instance = ProcessInstance.objects.get()
    assert instance.variables["days"] == 2.5
    assert instance.variables["handover"] == "wangfang"
    assert list(instance.attachments.values_list("name", flat=True)) == ["病历.txt"]

    phone = new_page("phone")
    sign_in(phone, base, employee.username)
    phone.goto(f"{base}{LEAVE}")
    phone.locator("#id_start_date").fill("2026-12-07")
    phone.locator("#id_end_date").fill("2026-12-08")
    phone.locator("#id_end_date").blur()
    expect(phone.locator("#id_days")).to_have_value("2")
    assert_fits(phone)
    screenshot(phone, "forms-leave-phone-zh")

    # money: the amount read back with separators and in capitals as it is typed
    for kind, shot in (("desktop", page), ("phone", phone)):
        shot.goto(f"{base}{EXPENSE}")
        shot.locator("#id_amount").fill("12345.6")
        expect(shot.locator("[data-money-shown]")).to_have_text(
            "12,345.60 · 壹万贰仟叁佰肆拾伍元陆角整"
        )
        assert_fits(shot)
        screenshot(shot, f"forms-money-{kind}-zh")
