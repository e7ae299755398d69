"""The CRM's browser journeys (issue 19, "Done when"), in a real Chromium, in Chinese:

1. a lead converted: 张伟 opens the lead, converts it in one step (account + contact +
   opportunity) and lands on the new opportunity; a wrong credit code first gets a field
   error in Chinese and creates nothing;
2. a quote at 25 % discount: submitted by 张伟, approved by the sales director 陈杰 from the
   待办 tab of his inbox on a 390-px phone (the quote's lines on the task page), accepted by
   the customer, sent to the embedded ERP through the outbox; the ERP's order number on the
   account's page (and, once the page shows quotes, the opportunity's);
3. a case over National Day (国庆 2026-10-01..07, Saturday 10-10 a make-up workday): its
   resolution due counted in business hours across the holiday, shown on its page; the
   engine's timer past the due escalates it to the team lead 李娜, who finds the notice in
   her messages and the case marked escalated.

Every journey asserts the database as well as the page. Screenshots ``crm-journey-*``. (The
pipeline's drag to "won" is ``test_crm_pipeline.py``.)"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import chinese_calendar
import pytest
from django.utils import formats, timezone, translation

from crm.models import (
    Account,
    AccountLevel,
    Case,
    CaseStatus,
    Contact,
    Lead,
    LeadStatus,
    Opportunity,
    Quote,
    QuoteStatus,
    Stage,
)
from crm.services import quotes as quote_services
from crm.services import sales as sales_services
from erp_bridge.models import OrderRecord, OutboxMessage, OutboxState
from erp_bridge.outbox import outbox_deliver_due
from portal.models import Notification, User
from tests.crm import sales_fixtures as make
from tests.crm.accounts_fixtures import bad_uscc, uscc
from tests.crm.quotes_fixtures import *  # noqa: F403  (the quote fixtures)

# isort: split
# after the quote fixtures: the cases' general_manager (heading 总经办) is the one meant here
from tests.crm.cases_fixtures import *  # noqa: F403  (the case fixtures)
from tests.crm.cases_fixtures import SH, Clock, at, make_account, run_timers_at
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, VIEWPORTS, close_settled
from tests.e2e.journey_helpers import INBOX
from tests.e2e.test_shell import sign_in
from workflow.models import InstanceState, ProcessInstance, Task, TaskState
from workflow.services.approvals import task_approve

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
CLOSE = datetime.date(2027, 3, 31)


@pytest.fixture
def open_as(browser: Browser, live_server: Any) -> Iterator[Callable[[User, str], Page]]:
    """``open_as(user, size)``: a page signed in as ``user`` through the login form, in
    Chinese (the default for these users), ``size`` "desktop" or "phone" (390 px)."""
    contexts: list[BrowserContext] = []

    def _open(user: User, size: str = "desktop") -> Page:
        User.objects.filter(pk=user.pk).update(preferred_language="zh-hans")
        context = browser.new_context(**SIZES[size])
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, live_server.url, user.username)
        return page

    yield _open
    close_settled(contexts)


def fits_phone(page: Page) -> None:
    """No sideways scrolling on the 390-px phone (names the widest elements if there is)."""
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        f"[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        f" > {PHONE_WIDTH + 1}).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= PHONE_WIDTH + 1, f"{page.url} is {width}px wide: {wide}"


def crm_rows() -> tuple[int, int, int]:
    return (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count())


# --- 1. a lead converted -------------------------------------------------------------------------


def test_a_lead_is_converted_in_one_step_and_a_wrong_credit_code_is_refused(
    live_server: Any,
    employee: User,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    lead = sales_services.lead_create(
        by=employee,
        company="杭州西溪智能装备有限公司",
        contact_name="吴晓燕",
        phone="13900001234",
        email="wu.xiaoyan@xixi-zn.com",
        province="浙江",
        city="杭州",
        assign_to_me=True,
    )
    base = live_server.url
    page = open_as(employee, "desktop")
    page.goto(f"{base}/crm/leads/{lead.pk}/")
    expect(page.locator("h1")).to_contain_text("杭州西溪智能装备有限公司")
    expect(page.locator(".facts")).to_contain_text("吴晓燕")
    screenshot(page, "crm-journey-lead")
    convert = page.locator(f'a[href="/crm/leads/{lead.pk}/convert/"]')
    expect(convert).to_have_text("转化")
    convert.click()

    expect(page).to_have_url(f"{base}/crm/leads/{lead.pk}/convert/")
    expect(page.locator("h1")).to_have_text("转化 杭州西溪智能装备有限公司")
    expect(page.locator("#content")).to_contain_text("一步生成客户、联系人和商机。")
    expect(page.locator('label[for="id_credit_code"]')).to_have_text("统一社会信用代码")
    expect(page.locator("#id_opportunity_name")).to_have_value("杭州西溪智能装备有限公司")

    # the bad path: a credit code whose check character is wrong
    before = crm_rows()
    wrong = bad_uscc(31)
    page.locator("#id_credit_code").fill(wrong)
    page.locator("#id_opportunity_name").fill("西溪智能 MES 一期")
    page.locator("#id_amount").fill("380000")
    page.locator("#id_expected_close").fill(CLOSE.isoformat())
    page.locator("form.sales-form button[type=submit]").click()
    error = page.locator(".field.invalid:has(#id_credit_code) small.error")
    expect(error).to_have_text(re.compile(rf"^“{wrong}”不是有效的.*校验码不正确"))
    expect(page.locator("#id_credit_code")).to_have_value(wrong)  # kept for correcting
    screenshot(page, "crm-journey-lead-convert-wrong-code")
    assert crm_rows() == before
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW
    assert Lead.objects.get(pk=lead.pk).converted_account_id is None

    # the right code: converted, on the new opportunity's page
    page.locator("#id_credit_code").fill(uscc(31))
    page.locator("form.sales-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{base}/crm/opportunities/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("线索已转化。")
    expect(page.locator("h1")).to_contain_text("西溪智能 MES 一期")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("杭州西溪智能装备有限公司")
    expect(facts).to_contain_text("吴晓燕")
    expect(facts).to_contain_text("¥380,000.00")
    screenshot(page, "crm-journey-lead-converted-opportunity")

    converted = Lead.objects.get(pk=lead.pk)
    assert converted.status == LeadStatus.CONVERTED and converted.converted_at is not None
    opportunity = Opportunity.objects.select_related("account", "contact").get()
    assert page.url == f"{base}/crm/opportunities/{opportunity.pk}/"
    new_account = opportunity.account
    assert (converted.converted_account_id, converted.converted_opportunity_id) == (
        new_account.pk,
        opportunity.pk,
    )
    assert (new_account.name, new_account.credit_code, new_account.owner_id) == (
        "杭州西溪智能装备有限公司",
        uscc(31),
        employee.pk,
    )
    assert (new_account.province, new_account.city) == ("浙江", "杭州")
    contact = Contact.objects.get(account=new_account)
    assert (contact.name, contact.mobile, contact.is_primary) == ("吴晓燕", "13900001234", True)
    assert opportunity.contact_id == contact.pk
    assert (opportunity.name, opportunity.amount, opportunity.expected_close) == (
        "西溪智能 MES 一期",
        Decimal("380000.00"),
        CLOSE,
    )
    assert (opportunity.stage, opportunity.owner_id) == (Stage.QUALIFICATION, employee.pk)
    assert crm_rows() == (before[0] + 1, before[1] + 1, before[2] + 1)

    # the new account's page: the contact and the opportunity are there
    page.goto(f"{base}/crm/accounts/{new_account.pk}/")
    expect(page.locator("h1")).to_contain_text("杭州西溪智能装备有限公司")
    expect(page.locator("#content")).to_contain_text("吴晓燕")
    expect(page.locator("#content")).to_contain_text("西溪智能 MES 一期")
    screenshot(page, "crm-journey-lead-converted-account")
    # the lead's page now leads to its opportunity and offers no second conversion
    page.goto(f"{base}/crm/leads/{lead.pk}/")
    expect(page.locator(f'a[href="/crm/opportunities/{opportunity.pk}/"]')).to_be_visible()
    expect(page.locator(f'a[href="/crm/leads/{lead.pk}/convert/"]')).to_have_count(0)


# --- 2. a quote approved on the phone and ordered in the ERP -------------------------------------


def _quote_at_25_percent(employee: User, account: Account, opportunity: Opportunity) -> Quote:
    """A draft: 10 chairs at 25 % off and 2 desks at 25 % off (the matrix asks the director)."""
    return quote_services.quote_create(
        by=employee,
        account_id=account.pk,
        opportunity_id=opportunity.pk,
        lines=[
            quote_services.LineInput("P0001", "10", discount="25"),
            quote_services.LineInput("P0002", "2", discount="25"),
        ],
    )


@pytest.mark.usefixtures("matrix")
def test_a_25_percent_quote_is_approved_on_the_directors_phone_and_ordered_in_the_erp(
    live_server: Any,
    employee: User,
    director: User,
    account: Account,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    opportunity = make.opportunity(
        account, name="华东精密 办公家具更新", stage=Stage.PROPOSAL, amount="15000"
    )
    quote = _quote_at_25_percent(employee, account, opportunity)
    assert (quote.discount, quote.status) == (Decimal("25.00"), QuoteStatus.DRAFT)
    base = live_server.url

    # 张伟 submits the quote (desktop)
    seller = open_as(employee, "desktop")
    seller.goto(f"{base}/crm/quotes/{quote.pk}/")
    expect(seller.locator("h1")).to_contain_text(quote.number)
    expect(seller.locator("h1 [data-status]")).to_have_attribute("data-status", "draft")
    seller.locator(f'form[action="/crm/quotes/{quote.pk}/submit/"] button').click()
    expect(seller.locator("h1 [data-status]")).to_have_attribute("data-status", "pending")
    expect(seller.locator("h1 [data-status]")).to_have_text("待审批")
    expect(seller.locator(".facts")).to_contain_text("销售总监")
    screenshot(seller, "crm-journey-quote-submitted")
    quote.refresh_from_db()
    assert (quote.status, quote.approval_level) == (QuoteStatus.PENDING, "sales_director")
    task = Task.objects.get(instance_id=quote.approval_instance_id, state=TaskState.OPEN)
    assert task.element_id == "Task_SalesDirector"

    # 陈杰, the sales director, approves from his phone's 待办 tab
    phone = open_as(director, "phone")
    phone.goto(f"{base}{INBOX}")
    todo_tab = phone.locator("#inbox-tabs a[href*='tab=todo']")
    expect(todo_tab).to_have_attribute("aria-current", "page")
    expect(todo_tab).to_have_text(re.compile("待办"))
    row = phone.locator(".inbox-row", has_text=quote.number)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("销售总监审批")
    expect(row).to_contain_text("上海华东精密机械有限公司")
    fits_phone(phone)
    screenshot(phone, "crm-journey-quote-inbox-phone")
    row.locator("a.title").click()
    expect(phone).to_have_url(f"{base}/workflow/tasks/{task.pk}/")
    expect(phone.locator("h1")).to_have_text("销售总监审批")
    panel = phone.locator("[data-testid=quote-panel]")
    expect(panel).to_contain_text(quote.number)
    lines = panel.locator("table.quote-lines tbody tr")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text("人体工学办公椅")
    expect(lines.nth(1)).to_contain_text("升降办公桌")
    expect(panel.locator("[data-testid=quote-discount]")).to_have_text("25.00")
    expect(panel.locator("[data-testid=quote-total]")).to_contain_text(f"{quote.total:,.2f}")
    expect(panel.locator("thead")).to_contain_text("产品编码")
    fits_phone(phone)
    screenshot(phone, "crm-journey-quote-task-phone")
    bar = phone.locator(".actionbar")
    expect(bar.locator("[data-action=approve]")).to_be_in_viewport()
    bar.locator("[data-action=approve]").click()
    dialog = phone.locator("#dlg-approve")
    expect(dialog).to_be_visible()
    dialog.locator("textarea").fill("同意，本季度重点客户")
    fits_phone(phone)
    screenshot(phone, "crm-journey-quote-approve-dialog-phone")
    dialog.locator("[data-confirm=approve]").click()
    expect(phone).to_have_url(re.compile(rf"{INBOX}(\?.*)?$"))
    expect(phone.locator(".messages")).to_be_visible()
    expect(phone.locator(".inbox-row", has_text=quote.number)).to_have_count(0)
    fits_phone(phone)
    screenshot(phone, "crm-journey-quote-inbox-after-phone")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert quote.approval_instance_id is not None
    approval = ProcessInstance.objects.get(pk=quote.approval_instance_id)
    assert approval.state == InstanceState.COMPLETED
    assert Task.objects.get(pk=task.pk).assignee == director.username

    # 张伟 records the customer's acceptance: the order goes to the ERP through the outbox
    seller.reload()
    expect(seller.locator("h1 [data-status]")).to_have_attribute("data-status", "approved")
    expect(seller.locator("[data-testid=approval-note]")).to_contain_text("同意，本季度重点客户")
    expect(seller.locator("#accept-title")).to_have_text("客户确认")
    expect(seller.locator('label[for="id_confirmed"]')).to_have_text("客户已接受此报价")
    assert not OutboxMessage.objects.exists()
    seller.locator("#id_confirmed").check()
    accept = seller.locator(f'form[action="/crm/quotes/{quote.pk}/accept/"] button')
    expect(accept).to_have_text("客户已接受，在 ERP 中下单")
    accept.click()
    expect(seller.locator(".messages")).to_be_visible()
    quote.refresh_from_db()
    assert (quote.status, quote.order_reference) == (QuoteStatus.ACCEPTED, quote.number)
    message = OutboxMessage.objects.get(idempotency_key=f"quote:{quote.number}")
    assert (message.operation, message.aggregate) == ("sales_order.create", "customer:C0001")
    assert [line["product_code"] for line in message.payload["lines"]] == ["P0001", "P0002"]
    outbox_deliver_due()  # the worker's round (a no-op if the commit's wake-up delivered it)
    message.refresh_from_db()
    assert message.state == OutboxState.DELIVERED
    order = OrderRecord.objects.get(reference=quote.number)
    assert order.number.startswith("SO") and order.customer_code == "C0001"

    seller.reload()
    expect(seller.locator("h1 [data-status]")).to_have_attribute("data-status", "ordered")
    expect(seller.locator("#order-title")).to_have_text("ERP 销售订单")
    expect(seller.locator("[data-testid=order-number]")).to_have_text(order.number)
    screenshot(seller, "crm-journey-quote-ordered")

    # the account's page lists the quote with the ERP's order number
    seller.goto(f"{base}/crm/accounts/{account.pk}/")
    quotes = seller.locator("[data-testid=account-quotes]")
    expect(quotes.locator("h2")).to_have_text("报价与 ERP 订单")
    quote_row = quotes.locator("tbody tr", has_text=quote.number)
    expect(quote_row).to_contain_text(order.number)
    expect(quote_row.locator("[data-status]")).to_have_attribute("data-status", "ordered")
    expect(quotes.locator("thead")).to_contain_text("ERP 单号")
    quotes.scroll_into_view_if_needed()
    screenshot(seller, "crm-journey-quote-account-order")


@pytest.mark.usefixtures("matrix")
def test_the_erp_order_number_shows_on_the_opportunitys_page(
    live_server: Any,
    employee: User,
    director: User,
    account: Account,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    opportunity = make.opportunity(account, name="华东精密 会议室改造", stage=Stage.PROPOSAL)
    quote = _quote_at_25_percent(employee, account, opportunity)
    quote = quote_services.quote_submit(by=employee, quote_id=quote.pk)
    task = Task.objects.get(instance_id=quote.approval_instance_id, state=TaskState.OPEN)
    task_approve(task.pk, user=director, comment="同意")
    quote_services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    outbox_deliver_due()
    order = OrderRecord.objects.get(reference=quote.number)

    page = open_as(employee, "desktop")
    page.goto(f"{live_server.url}/crm/opportunities/{opportunity.pk}/")
    expect(page.locator("h1")).to_contain_text("华东精密 会议室改造")
    screenshot(page, "crm-journey-quote-opportunity-order")
    quotes = page.locator("[data-testid=opportunity-quotes]")
    expect(quotes.locator("tbody tr", has_text=quote.number)).to_contain_text(
        order.number, timeout=2_000
    )


# --- 3. a case escalated after National Day ------------------------------------------------------

WORKING_PERIODS = ((9, 12), (13, 18))  # the company's working hours (CRM_WORKING_HOURS)


def due_by_the_calendar(start: datetime.datetime, hours: int) -> datetime.datetime:
    """``start`` plus ``hours`` working hours, counted day by day with chinese-calendar's
    workdays (public holidays off, make-up workdays on): the test's own reckoning."""
    remaining = datetime.timedelta(hours=hours)
    day = start.date()
    for _ in range(60):
        if chinese_calendar.is_workday(day):
            for opens_at, closes_at in WORKING_PERIODS:
                opens = datetime.datetime.combine(day, datetime.time(opens_at), tzinfo=SH)
                closes = datetime.datetime.combine(day, datetime.time(closes_at), tzinfo=SH)
                begin = max(opens, start)
                if begin >= closes:
                    continue
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
        day += datetime.timedelta(days=1)
    raise AssertionError("no due date within 60 days")


def shown(moment: datetime.datetime) -> str:
    """How a Chinese page writes a moment (SHORT_DATETIME_FORMAT in Shanghai time)."""
    with translation.override("zh-hans"):
        return formats.date_format(timezone.localtime(moment, SH), "SHORT_DATETIME_FORMAT")


def test_a_case_over_national_day_escalates_to_the_team_lead(
    live_server: Any,
    employee: User,
    dept_head: User,
    general_manager: User,
    policies: Any,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    # the calendar the due date crosses, from chinese-calendar itself
    assert not any(chinese_calendar.is_workday(datetime.date(2026, 10, d)) for d in range(1, 8))
    assert datetime.date(2026, 10, 10).weekday() == 5  # a Saturday ...
    assert chinese_calendar.is_workday(datetime.date(2026, 10, 10))  # ... worked (调休上班)
    opened = at(9, 30, 17)  # Wednesday, the eve of the holiday, 17:00
    # a level-C account: 24 working hours to resolve = 1 h on 9-30, 8 h on 10-08 and 10-09,
    # and 7 h on the make-up Saturday
    due = due_by_the_calendar(opened, 24)
    assert due == at(10, 10, 17)

    customer = make_account(employee, name="宁波港联物流有限公司", level=AccountLevel.STANDARD)
    clock.set(opened)
    # the engine's clock too: the host's real date may be past the due, and the escalation
    # run's first jobs are run when its start commits
    assert run_timers_at(monkeypatch, opened) == 0
    base = live_server.url
    page = open_as(employee, "desktop")
    page.goto(f"{base}/crm/cases/new/?account={customer.pk}")
    page.locator("#id_subject").fill("仓储系统接口报错，无法生成出库单")
    page.locator("#id_description").fill("客户反馈 9 月 30 日下午起接口持续报 500 错误。")
    page.locator("#content form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{base}/crm/cases/\d+/$"))
    case = Case.objects.get()
    assert page.url == f"{base}/crm/cases/{case.pk}/"
    assert (case.opened_at, case.resolution_due) == (opened, due)
    assert case.status == CaseStatus.NEW and case.escalation_level == 0
    record = page.locator("table.record")
    due_row = record.locator("tr", has=page.locator("th", has_text="解决时限"))
    expect(due_row.locator("td")).to_contain_text(shown(due))
    expect(record.locator("tr", has=page.locator("th", has_text="受理时间"))).to_contain_text(
        shown(opened)
    )
    expect(page.locator("#content")).not_to_contain_text("已升级")
    screenshot(page, "crm-journey-case-opened")

    # the engine's clock passes the holiday: nothing before the due, the team lead after it
    assert run_timers_at(monkeypatch, at(10, 8, 10)) == 0
    assert run_timers_at(monkeypatch, at(10, 10, 16, 59)) == 0
    assert Case.objects.get(pk=case.pk).escalation_level == 0
    clock.set(at(10, 10, 17, 1))  # the case services' clock with the engine's
    assert run_timers_at(monkeypatch, at(10, 10, 17, 1)) >= 1
    case.refresh_from_db()
    assert case.escalation_level == 1
    assert case.events.filter(kind="escalated").count() == 1
    notice = Notification.objects.get(recipient=dept_head, kind="crm")
    assert case.number in notice.title and notice.url == f"/crm/cases/{case.pk}/"
    assert notice.read_at is None
    assert not Notification.objects.filter(recipient=general_manager, kind="crm").exists()

    page.reload()
    expect(page.locator("table.record .tag.overdue")).to_have_text("已升级（第 1 级）")
    expect(page.locator("#content")).to_contain_text("李娜")  # the history names her
    screenshot(page, "crm-journey-case-escalated")

    # 李娜 (the team lead) finds the notice under her bell and opens the case from it
    lead_page = open_as(dept_head, "desktop")
    expect(lead_page.locator("[data-testid=unread-count]")).to_have_text("1")
    lead_page.locator("#bell").click()
    expect(lead_page).to_have_url(f"{base}/notifications/")
    item = lead_page.locator("ul.notifications > li", has_text=case.number)
    expect(item).to_contain_text(f"工单 {case.number} 已超过解决时限")
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    screenshot(lead_page, "crm-journey-case-notice")
    expect(item).to_contain_text("宁波港联物流有限公司")
    item.get_by_role("button").click()  # opens the case the notice is about
    expect(lead_page).to_have_url(f"{base}/crm/cases/{case.pk}/")
    expect(lead_page.locator("h1")).to_contain_text(case.number)
    assert Notification.objects.get(pk=notice.pk).read_at is not None
    expect(lead_page.locator("table.record .tag.overdue")).to_have_text("已升级（第 1 级）")
    screenshot(lead_page, "crm-journey-case-escalated-team-lead")
