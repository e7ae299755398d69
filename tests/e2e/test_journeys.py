"""The key journeys of the workflow across its pages, in a real browser, with the demo
company (``manage.py seed_demo``) and everyone signing in through the login form:

1. 张伟 (employee, desktop, Chinese) starts an expense claim of 6 800 元 from the catalogue
   and lands on its instance page: 直属上级审批 with 杨帆.
2. 杨帆 (his manager) approves it from the inbox on a 375 px phone.
3. 李娜 (the director, 部门负责人审批) returns it to the initiator with the step chooser;
   张伟 finds it in his 待办, lowers the amount and resubmits; the process settings say
   ``resubmit = jump``, so it goes straight back to 李娜, who approves: 财务审核.
4. 刘洋 (finance reviewer, desktop, English) claims the group task and adds 孙强 as a signer
   *before* him (前加签); 孙强 approves from his inbox; the task comes back to 刘洋
   (docs/approvals.md, ``task_add_signers``), who approves: 总经理审批.
5. 许刚 (process admin) finds the failed archiving job of DEMO-CON-0003 in the console;
   once the document system's bridge is configured (a local stub), Retry resolves it: one
   call with an ``Idempotency-Key`` and the contract's process ends.

Screenshots: ``journey-<n>-<step>-<desktop|phone>-<zh|en>``. Most of the workflow's own
words are not translated yet (they are at the end of the issue): labels of the portal
chrome are matched in both languages, the demo data (steps, people, titles) in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.management.commands.seed_demo import DEFAULT_PASSWORD
from tests.e2e.journey_helpers import (
    CATALOGUE,
    CONSOLE,
    INBOX,
    bridge_stub,
    fits_phone,
    open_nav_link,
    seed_demo,
    set_language,
    wait_until,
)
from tests.e2e.test_shell import sign_in
from workflow.models import Incident, InstanceState, ProcessInstance, Task, TaskState

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

TITLE = "张伟的费用报销：杭州工业展差旅费 6,800 元"
INSTANCE_URL = re.compile(r"/workflow/instances/(\d+)/$")
TASK_URL = re.compile(r"/workflow/tasks/(\d+)/$")


def open_tasks(instance_id: int) -> list[tuple[str, str, str]]:
    """(step, assignee, state) of the live tasks of an instance, oldest first."""
    return list(
        Task.objects.filter(
            instance_id=instance_id,
            state__in=(TaskState.OPEN, TaskState.WAITING, TaskState.PENDING),
        )
        .order_by("pk")
        .values_list("element_id", "assignee", "state")
    )


def todo_count(page: Page) -> int:
    """The number on the inbox's 待办 tab (no number: nothing to do)."""
    badge = page.locator("#inbox-tabs [data-testid=count-todo]")
    return int(badge.inner_text()) if badge.count() else 0


def open_from_inbox(page: Page, base: str, step: str) -> Any:
    """Open the claim from the 待办 tab; the task page of ``step``."""
    page.goto(f"{base}{INBOX}")
    row = page.locator(".inbox-row", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(step)
    row.locator("a.title").click()
    expect(page).to_have_url(TASK_URL)
    expect(page.locator("h1")).to_have_text(step)
    return row


def approve_here(page: Page, comment: str) -> None:
    """Approve the open task page with the confirmation dialog; back in the inbox."""
    page.locator(".actionbar [data-action=approve]").click()
    dialog = page.locator("#dlg-approve")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill(comment)
    dialog.locator("[data-confirm=approve]").click()
    expect(page).to_have_url(re.compile(rf"{INBOX}(\?.*)?$"))
    expect(page.locator(".messages")).to_be_visible()


def test_expense_claim_from_submission_to_the_general_manager(
    live_server: Any, new_page: Callable[[str], Page], screenshot: Callable[[Page, str], Path]
) -> None:
    seed_demo()
    base = live_server.url

    # --- 1. 张伟 submits the claim from the catalogue (desktop, Chinese) ----------------------
    employee = new_page("desktop")
    sign_in(employee, base, "zhangwei", DEFAULT_PASSWORD)
    catalogue_link = employee.locator(f'nav.mainnav a[href="{CATALOGUE}"]')
    expect(catalogue_link).to_have_text(re.compile("发起申请|Start a request"))
    catalogue_link.click()
    expect(employee).to_have_url(f"{base}{CATALOGUE}")
    finance = employee.locator(".catalogue-group", has=employee.locator("h2", has_text="财务"))
    expect(finance).to_be_visible()
    card = finance.locator(".catalogue-tile", has_text="费用报销")
    # the description is shortened on the tile and whole in its title
    expect(card.locator("a")).to_have_attribute("title", re.compile("直属上级审批后由财务审核"))
    screenshot(employee, "journey-1-catalogue-desktop-zh")
    card.locator("a").click()

    expect(employee.locator("h1")).to_have_text("费用报销")
    employee.locator("#id_meta-title").fill(TITLE)
    employee.locator("#id_reason").fill("参加杭州国际工业自动化展：高铁往返、三晚住宿")
    employee.locator("#id_amount").fill("6800")
    employee.locator("#id_expense_type").select_option("travel")
    employee.locator("#id_expense_date").fill("2025-05-20")
    screenshot(employee, "journey-1-start-form-desktop-zh")
    employee.locator("button[name=action][value=submit]").click()

    expect(employee).to_have_url(INSTANCE_URL)
    match = INSTANCE_URL.search(employee.url)
    assert match is not None
    instance_id = int(match.group(1))
    instance_url = f"{base}/workflow/instances/{instance_id}/"
    expect(employee.locator("h1")).to_have_text(TITLE)
    current = employee.locator("#history .kind-now")  # the timeline's step waiting now
    expect(current).to_have_count(1)
    expect(current).to_contain_text("直属上级审批")
    expect(current).to_contain_text("杨帆")
    expect(employee.locator(".wf-main")).to_contain_text("6,800")
    screenshot(employee, "journey-1-instance-desktop-zh")
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert (instance.initiator, instance.variables["amount"]) == ("zhangwei", "6800.00")
    assert open_tasks(instance_id) == [("Task_ManagerApproval", "yangfan", "open")]

    # --- 2. 杨帆 approves from the inbox on a phone ------------------------------------------
    phone = new_page("phone")
    sign_in(phone, base, "yangfan", DEFAULT_PASSWORD)
    phone.goto(f"{base}{INBOX}")
    todo_tab = phone.locator("#inbox-tabs a[href*='tab=todo']")
    expect(todo_tab).to_have_attribute("aria-current", "page")
    expect(todo_tab).to_have_text(re.compile("待办|To do"))
    before = todo_count(phone)
    assert before >= 1  # the demo claims of his team, and ours
    row = phone.locator(".inbox-row", has_text=TITLE)
    expect(row).to_contain_text("直属上级审批")
    expect(row).to_contain_text("张伟")
    fits_phone(phone)
    screenshot(phone, "journey-2-inbox-phone-zh")

    row.locator("a.title").click()
    expect(phone.locator("h1")).to_have_text("直属上级审批")
    expect(phone.locator(".wf-head")).to_contain_text(TITLE)
    fits_phone(phone)
    bar = phone.locator(".actionbar")
    expect(bar.locator("[data-action=approve]")).to_be_in_viewport()
    screenshot(phone, "journey-2-task-phone-zh")
    bar.locator("[data-action=approve]").click()
    dialog = phone.locator("#dlg-approve")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("展会获客需要")
    dialog.locator("button.chip").first.click()  # a 常用语 (the first default: 同意。), one tap
    expect(dialog.locator("textarea")).to_have_value(re.compile(r"^展会获客需要，\S"))
    opinion = dialog.locator("textarea").input_value()
    fits_phone(phone)
    screenshot(phone, "journey-2-approve-dialog-phone-zh")
    dialog.locator("[data-confirm=approve]").click()

    expect(phone).to_have_url(re.compile(rf"{INBOX}(\?.*)?$"))
    expect(phone.locator(".messages")).to_be_visible()
    expect(phone.locator(".inbox-row", has_text=TITLE)).to_have_count(0)
    assert todo_count(phone) == before - 1
    fits_phone(phone)
    screenshot(phone, "journey-2-inbox-after-phone-zh")
    # the same inbox in English, still fitting the phone
    set_language("yangfan", "en")
    phone.reload()
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    expect(todo_tab).to_have_text(re.compile("To do"))
    fits_phone(phone)
    screenshot(phone, "journey-2-inbox-after-phone-en")
    assert open_tasks(instance_id) == [("Task_DeptHeadApproval", "lina", "open")]

    # --- 3. 李娜 returns it to 张伟, who resubmits; back to 李娜 (resubmit = jump) ----------
    director = new_page("desktop")
    sign_in(director, base, "lina", DEFAULT_PASSWORD)
    open_from_inbox(director, base, "部门负责人审批")
    expect(director.locator("#history .tl-entry", has_text="杨帆")).to_contain_text("直属上级审批")
    # the manager's opinion (审批意见: his approval's comment) is in the record
    expect(director.locator(".wf-main")).to_contain_text(opinion)
    director.locator(".actionbar details.more > summary").click()
    director.locator(".actionbar [data-action=return]").click()
    dialog = director.locator("#dlg-return")
    expect(dialog).to_be_visible()
    # the chooser offers the initiator (the start step) and the steps the claim passed
    options = dialog.locator("select option")
    expect(options).to_have_text(["提交报销", "直属上级审批"])
    dialog.locator("select").select_option("initiator")
    dialog.locator("textarea").fill("住宿超标，请按制度调整金额后重新提交")
    screenshot(director, "journey-3-return-dialog-desktop-zh")
    dialog.locator("[data-confirm=return]").click()
    expect(director).to_have_url(re.compile(rf"{INBOX}(\?.*)?$"))
    expect(director.locator(".messages")).to_be_visible()
    expect(director.locator(".inbox-row", has_text=TITLE)).to_have_count(0)
    assert open_tasks(instance_id) == [("Start_Claim", "zhangwei", "open")]

    employee.goto(f"{base}{INBOX}")
    expect(employee.locator("#inbox-tabs [data-testid=count-todo]")).to_be_visible()
    row = employee.locator(".inbox-row", has_text=TITLE)
    expect(row).to_contain_text("提交报销")
    screenshot(employee, "journey-3-inbox-returned-desktop-zh")
    row.locator("a.title").click()
    expect(employee.locator("h1")).to_have_text("提交报销")
    history = employee.locator("#history")
    expect(history).to_contain_text("李娜")
    expect(history).to_contain_text("住宿超标，请按制度调整金额后重新提交")
    amount = employee.locator("#id_amount")
    expect(amount).to_have_value("6800.00")
    amount.fill("6500")
    screenshot(employee, "journey-3-resubmit-desktop-zh")
    approve_here(employee, "已按制度调整住宿费")
    assert ProcessInstance.objects.get(pk=instance_id).variables["amount"] == "6500.00"
    # jump: straight back to the step that returned it, not to the manager again
    employee.goto(instance_url)
    current = employee.locator("#history .kind-now")
    expect(current).to_contain_text("部门负责人审批")
    expect(current).to_contain_text("李娜")
    expect(current).not_to_contain_text("直属上级审批")
    expect(employee.locator(".wf-main")).to_contain_text("6,500")
    screenshot(employee, "journey-3-instance-after-resubmit-desktop-zh")
    assert open_tasks(instance_id) == [("Task_DeptHeadApproval", "lina", "open")]

    open_from_inbox(director, base, "部门负责人审批")
    approve_here(director, "同意")
    employee.goto(instance_url)
    expect(employee.locator("#history .kind-now")).to_contain_text("财务审核")
    screenshot(employee, "journey-3-instance-at-finance-desktop-zh")
    assert open_tasks(instance_id) == [("Task_FinanceReview", "", "open")]

    # --- 4. 刘洋 (finance, English) opens it and adds 孙强 before him ------------------------
    # (no 认领: the task offered to the finance reviewers is his once he acts on it)
    set_language("liuyang", "en")
    reviewer = new_page("desktop")
    sign_in(reviewer, base, "liuyang", DEFAULT_PASSWORD)
    reviewer.goto(f"{base}{INBOX}")
    expect(reviewer.locator("html")).to_have_attribute("lang", "en")
    row = reviewer.locator(".inbox-row", has_text=TITLE)
    expect(row.locator("button.claim")).to_have_count(0)
    screenshot(reviewer, "journey-4-inbox-offered-desktop-en")
    assert open_tasks(instance_id) == [("Task_FinanceReview", "", "open")]

    row.locator("a.title").click()
    expect(reviewer.locator("h1")).to_have_text(re.compile("财务审核|Finance review"))
    expect(reviewer.locator(".wf-head .facts")).to_contain_text("(whoever acts first)")
    reviewer.locator(".actionbar details.more > summary").click()
    reviewer.locator(".actionbar [data-action=add_signers]").click()
    dialog = reviewer.locator("#dlg-add_signers")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("before you, after you, or alongside you")
    picker = dialog.locator("#id_add_signers-signers")
    picker.fill("孙强")
    pick = dialog.locator(".picker-results button.pick[data-pick=sunqiang]")
    expect(pick).to_contain_text("孙强")
    pick.click()
    expect(picker).to_have_value(re.compile(r"^sunqiang,\s*$"))
    dialog.locator("input[name='add_signers-position'][value=before]").check()
    dialog.locator("textarea").fill("Please confirm the budget line before I sign off.")
    screenshot(reviewer, "journey-4-add-signer-dialog-desktop-en")
    dialog.locator("[data-confirm=add_signers]").click()

    expect(reviewer).to_have_url(TASK_URL)
    expect(reviewer.locator(".messages")).to_contain_text("Signers added.")
    expect(reviewer.locator(".wf-head .facts")).to_contain_text("刘洋")
    expect(reviewer.locator(".wf-tags .state")).to_have_text("waiting for added signers")
    expect(reviewer.locator("#history")).to_contain_text("孙强")
    expect(reviewer.locator(".actionbar [data-action=approve]")).to_have_count(0)
    screenshot(reviewer, "journey-4-task-waiting-desktop-en")
    assert open_tasks(instance_id) == [
        ("Task_FinanceReview", "liuyang", "waiting"),
        ("Task_FinanceReview", "sunqiang", "open"),
    ]

    signer = new_page("desktop")
    sign_in(signer, base, "sunqiang", DEFAULT_PASSWORD)
    signer.goto(f"{base}{INBOX}")
    row = signer.locator(".inbox-row", has_text=TITLE)
    expect(row).to_contain_text("前加签")
    screenshot(signer, "journey-4-signer-inbox-desktop-zh")
    row.locator("a.title").click()
    expect(signer.locator("h1")).to_have_text("财务审核")
    expect(signer.locator(".wf-head .facts")).to_contain_text("刘洋 (前加签)")
    screenshot(signer, "journey-4-signer-task-desktop-zh")
    approve_here(signer, "预算科目无误")
    expect(signer.locator(".inbox-row", has_text=TITLE)).to_have_count(0)

    # before me: the task comes back to the reviewer; the instance has not moved on
    assert open_tasks(instance_id) == [("Task_FinanceReview", "liuyang", "open")]
    open_from_inbox(reviewer, base, "Finance review")  # English mode: the English step name
    expect(reviewer.locator(".wf-tags .state")).to_have_text("open")
    expect(reviewer.locator("#history")).to_contain_text("预算科目无误")
    reviewer.locator("#id_approved_amount").fill("6500")
    screenshot(reviewer, "journey-4-task-back-desktop-en")
    approve_here(reviewer, "Approved")

    reviewer.goto(instance_url)
    current = reviewer.locator("#history .kind-now")
    expect(current).to_contain_text("General manager approval")
    expect(current).not_to_contain_text("Finance review")
    screenshot(reviewer, "journey-4-instance-at-gm-desktop-en")
    assert [step for step, _, _ in open_tasks(instance_id)] == ["Task_GmApproval"]
    assert ProcessInstance.objects.get(pk=instance_id).variables["approved_amount"] == "6500.00"


def test_admin_retries_the_failed_archiving_of_a_contract(
    live_server: Any,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    settings: Any,
) -> None:
    settings.DMS_BRIDGE_URL = ""
    seed_demo()
    contract = ProcessInstance.objects.get(business_key="DEMO-CON-0003")
    incident = Incident.objects.get(instance=contract, resolved_at__isnull=True)
    assert "DMS_BRIDGE_URL" in incident.message
    base = live_server.url

    page = new_page("desktop")
    sign_in(page, base, "xugang", DEFAULT_PASSWORD)
    open_nav_link(page, CONSOLE)
    expect(page).to_have_url(f"{base}{CONSOLE}")
    row = page.locator("#instance-rows tr", has_text="DEMO-CON-0003")
    expect(row).to_contain_text("杨帆的合同审批：办公楼物业服务合同")
    expect(row.locator(".tag.danger")).to_have_text("1")
    screenshot(page, "journey-5-console-desktop-zh")

    page.locator(f'.console-tabs a[href="{CONSOLE}incidents/"]').click()
    failed = page.locator(f"#incident-{incident.pk}")
    expect(failed).to_contain_text("杨帆的合同审批：办公楼物业服务合同")
    expect(failed).to_contain_text("归档到文档系统")
    expect(failed).to_contain_text("dms.store_contract")
    expect(failed).to_contain_text("DMS_BRIDGE_URL")
    screenshot(page, "journey-5-incidents-desktop-zh")

    # the instance behind it: the business key, and the error where the process stopped
    failed.locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"/workflow/instances/{contract.pk}/$"))
    expect(page.locator(".wf-head")).to_contain_text("DEMO-CON-0003")
    expect(page.locator(".notice.incidents")).to_contain_text("归档到文档系统")
    screenshot(page, "journey-5-instance-failed-desktop-zh")
    page.go_back()

    with bridge_stub({"document_id": "D-1"}) as stub:
        settings.DMS_BRIDGE_URL = stub.url  # the administrator fixes the configuration
        page.locator(f"#incident-{incident.pk} button.retry").click()
        expect(page.locator(".messages")).to_contain_text("1")
        expect(page.locator(f"#incident-{incident.pk}")).to_have_count(0)
        screenshot(page, "journey-5-incidents-after-retry-desktop-zh")
        wait_until(
            lambda: ProcessInstance.objects.get(pk=contract.pk).state == InstanceState.COMPLETED,
            what="the contract's process to end",
        )
        assert len(stub.requests) == 1, [r.path for r in stub.requests]
        call = stub.requests[0]
        assert call.path == "/dms/store_contract"
        assert call.headers.get("Idempotency-Key")
        assert call.body["instance"] == contract.pk
        assert call.body["variables"]["contract_name"] == "总部办公楼物业服务合同（2025—2026）"

    incident.refresh_from_db()
    assert incident.resolved_at is not None and incident.resolved_by == "xugang"
    ended = ProcessInstance.objects.get(pk=contract.pk)
    assert ended.variables["dms_store_contract"] == {"document_id": "D-1"}

    page.goto(f"{base}/workflow/instances/{contract.pk}/")
    expect(page.locator(".wf-tags .status-approved")).to_have_text("已通过")  # in words
    expect(page.locator(".wf-head .facts")).to_contain_text(re.compile("Ended|结束"))
    expect(page.locator(".notice.incidents")).to_have_count(0)
    expect(page.locator("#history .kind-end")).to_contain_text(re.compile("Approved|已通过"))
    screenshot(page, "journey-5-instance-ended-desktop-zh")

    # the same page in English
    set_language("xugang", "en")
    page.goto(f"{base}/workflow/instances/{contract.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".wf-tags .status-approved")).to_have_text("Approved")
    screenshot(page, "journey-5-instance-ended-desktop-en")
