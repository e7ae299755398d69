"""The CRM's pipeline board in a real browser (issue 19, items 3-4): a card dragged (SortableJS)
to "won" is won in the database; a card dragged to a stage whose fields it lacks snaps back
with the server's message; a card moved with its keyboard control lands in its column; a
visit logged on a 390-px phone without sideways scrolling. Screenshots ``crm-pipeline-*``."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from crm.models import Activity, Opportunity, Stage
from portal.models import User
from tests.crm import sales_fixtures as make
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, VIEWPORTS, close_settled
from tests.factories import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 390
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {**VIEWPORTS["desktop"], "viewport": {"width": 1600, "height": 900}},
    "phone": {**VIEWPORTS["phone"], "viewport": {"width": PHONE_WIDTH, "height": 844}},
}
CLOSE = datetime.date(2027, 6, 30)


@pytest.fixture
def open_as(browser: Browser, live_server: Any) -> Iterator[Callable[[User, str], Page]]:
    """``open_as(user, size)``: a page signed in as ``user`` (Chinese UI)."""
    contexts: list[BrowserContext] = []

    def _open(user: User, size: str = "desktop") -> Page:
        User.objects.filter(pk=user.pk).update(preferred_language="zh-hans")
        context = browser.new_context(**SIZES[size])
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("#id_username").fill(user.username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#content form button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/")
        return page

    yield _open
    close_settled(contexts)


def column(page: Page, stage: str) -> Any:
    return page.locator(f'ol[data-stage="{stage}"]')


def stage_of(opportunity: Opportunity) -> str:
    return Opportunity.objects.values_list("stage", flat=True).get(pk=opportunity.pk)


def drag(page: Page, card: Any, target: Any) -> None:
    """A mouse drag with intermediate moves, as a person does it (SortableJS follows the
    pointer's native drag events)."""
    card.scroll_into_view_if_needed()
    start = card.locator(".sales-card-account").bounding_box()
    end = target.bounding_box()
    assert start and end
    page.mouse.move(start["x"] + 10, start["y"] + 5)
    page.mouse.down()
    page.mouse.move(start["x"] + 30, start["y"] + 20, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=20)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 24, steps=5)
    page.mouse.up()


def test_drag_to_won_refused_snap_back_and_keyboard_move(
    live_server: Any,
    employee: User,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Any],
) -> None:
    account = make.account(employee, "南京金陵电子有限公司")
    ready = make.opportunity(
        account,
        name="金陵 MES 项目",
        stage=Stage.NEGOTIATION,
        amount="380000",
        expected_close=CLOSE,
        probability=70,
        position=0,
    )
    bare = make.opportunity(account, name="金陵 试点项目", position=0)
    keyed = make.opportunity(account, name="金陵 运维服务", position=1)

    page = open_as(employee, "desktop")
    page.goto(f"{live_server.url}/crm/pipeline/")
    expect(page.locator(f"#card-{ready.pk}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "crm-pipeline-board")

    # The database is read once the page has a move's answer, not while the move is in
    # flight: on SQLite the live server shares the test's connection, and a read during
    # its write fails the write ("database table is locked").

    # drag the priced card to "won" (the probability shown comes from the answer)
    drag(page, page.locator(f"#card-{ready.pk}"), column(page, "won"))
    expect(page.locator(f"#card-{ready.pk} [data-probability]")).to_have_text("100")
    expect(column(page, "won").locator(f"#card-{ready.pk}")).to_be_visible()
    won = Opportunity.objects.get(pk=ready.pk)
    assert won.stage == Stage.WON
    assert won.closed_at is not None and won.probability == 100

    # a card without amount and close date dragged to "proposal": refused, back, told why
    drag(page, page.locator(f"#card-{bare.pk}"), column(page, "proposal"))
    error = page.locator(f"#card-{bare.pk} [data-move-error]")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(column(page, "qualification").locator(f"#card-{bare.pk}")).to_be_visible()
    assert stage_of(bare) == Stage.QUALIFICATION
    screenshot(page, "crm-pipeline-refused")

    # the keyboard: the card's "move to" select and its button
    select = page.locator(f"#move-{keyed.pk}")
    select.focus()
    select.select_option("needs")
    page.keyboard.press("Tab")  # the "move" button (the lost reason shows for "lost" only)
    expect(page.locator(f"#card-{keyed.pk} [data-move-button]")).to_be_focused()
    page.keyboard.press("Enter")
    # the card changes column when the answer has come (then the database is read)
    expect(column(page, "needs").locator(f"#card-{keyed.pk}")).to_be_visible()
    assert stage_of(keyed) == Stage.NEEDS
    screenshot(page, "crm-pipeline-keyboard")


def test_a_visit_is_logged_from_a_phone(
    live_server: Any,
    employee: User,
    open_as: Callable[[User, str], Page],
    screenshot: Callable[[Page, str], Any],
) -> None:
    account = make.account(employee, "苏州工业园区精密制造有限公司")
    make.contact(account, "周强")
    page = open_as(employee, "phone")
    page.goto(f"{live_server.url}/crm/accounts/{account.pk}/activities/new/")
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the activity form is {width}px wide"
    visit = page.locator(".sales-kind", has=page.locator("input[value=visit]"))
    box = visit.bounding_box()
    assert box and box["height"] >= 44  # a thumb's target
    visit.click()
    page.locator("#id_subject").fill("上门拜访，确认二期需求")
    page.locator("#id_contact").select_option(label="周强")
    screenshot(page, "crm-pipeline-phone-visit")
    page.locator("form.sales-activity button[type=submit]").click()
    # saved, the form sends the person on: the database is read after that answer, not
    # during it (on SQLite the live server shares the test's connection)
    page.wait_for_url(lambda url: not url.endswith("/activities/new/"))
    page.wait_for_load_state("load")
    logged = Activity.objects.get(kind="visit")
    assert (logged.subject, logged.contact.name if logged.contact else "") == (
        "上门拜访，确认二期需求",
        "周强",
    )
    page.goto(f"{live_server.url}/crm/pipeline/")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
