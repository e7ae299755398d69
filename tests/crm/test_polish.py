"""What the CRM's pages print for people rather than as stored codes (the browser review):
names instead of user names, channels, order states and approval levels in words, money
with thousands separators, one note box for a case's steps, no label of a hidden field, an
empty timeline as a sentence, and the shell's button and tag styles."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from crm.models import CaseChannel, CaseEvent, Quote, QuoteStatus
from crm.services import cases as case_services
from crm.services import quotes as services
from crm.services import sales as sales_services
from crm.templatetags.crm_words import ERP_ORDER_STATES, erp_order_state, money, person
from erp_bridge.gateway import OrderState
from erp_bridge.outbox import outbox_deliver_due
from portal.models import User
from tests.crm.cases_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.quotes_fixtures import MakeQuote
from tests.factories import english
from workflow.models import Task, TaskState
from workflow.services.approvals import task_reject

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]
STATIC = Path(settings.BASE_DIR) / "static"


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _open_task(quote: Quote) -> Task:
    return Task.objects.get(instance_id=quote.approval_instance_id, state=TaskState.OPEN)


# --- the words of stored codes ----------------------------------------------------------------


def test_money_has_thousands_separators_and_two_decimals() -> None:
    assert money(Decimal("380000")) == "380,000.00"
    assert money("13762.5") == "13,762.50"
    assert money(None) == ""
    assert money("n/a") == "n/a"


def test_every_erp_order_state_has_words_and_an_unknown_one_stays_as_written() -> None:
    assert set(ERP_ORDER_STATES) == set(get_args(OrderState))
    with translation.override("en"):
        assert erp_order_state("cancelled") == "cancelled"
    assert erp_order_state("on_hold") == "on_hold"
    assert erp_order_state(None) == ""


def test_a_user_name_reads_as_the_persons_name(employee: User) -> None:
    assert person("zhangwei") == "张伟"
    assert person("nobody-of-that-name") == "nobody-of-that-name"
    assert person("") == ""


# --- the case page ----------------------------------------------------------------------------


def test_the_case_history_names_the_person_and_the_channel_left_to_right(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    english(employee)
    case = case_services.case_open(
        by=employee,
        account_id=case_world["account"].pk,
        subject="主轴异响",
        channel=CaseChannel.EMAIL,
    )
    assert CaseEvent.objects.get(case=case, kind="opened").text == "email"  # stored as a code
    html = login(employee).get(reverse("crm:case-detail", args=[case.pk])).content.decode()
    history = html[html.index('class="list case-history"') :]
    assert "张伟" in history and "zhangwei" not in history
    assert "— e-mail" in history and "— email" not in history
    # the words come first, the time last (the list puts a leading time on the right)
    line = re.search(r"<li>(.*?)</li>", history, re.S)
    assert line is not None and line.group(1).startswith("<span>")
    assert "History" in html


def test_the_case_steps_share_one_note_and_each_button_posts_to_its_step(
    login: Login, employee: User, case_world: dict[str, Any]
) -> None:
    english(employee)
    case = case_services.case_open(
        by=employee, account_id=case_world["account"].pk, subject="主轴异响"
    )
    client = login(employee)
    html = client.get(reverse("crm:case-detail", args=[case.pk])).content.decode()
    steps = html[html.index('class="form case-steps"') :]
    steps = steps[: steps.index("</form>")]
    assert steps.count("<textarea") == 1
    for key in ("respond", "wait", "resolve"):
        assert f'formaction="{reverse("crm:case-step", args=[case.pk, key])}"' in steps
    client.post(reverse("crm:case-step", args=[case.pk, "wait"]), {"text": "等客户回电"})
    assert CaseEvent.objects.filter(case=case, kind="waiting", text="等客户回电").exists()


# --- quotes -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("matrix")
def test_the_approval_note_names_the_approver(
    login: Login, employee: User, director: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=25).pk)
    task_reject(_open_task(quote).pk, user=director, comment="折扣太大")
    html = login(employee).get(reverse("crm:quote_detail", args=[quote.pk])).content.decode()
    note = html[html.index('data-testid="approval-note"') :]
    note = note[: note.index("</div>")]
    assert "(陈杰)" in note and "chenjie" not in note


@pytest.mark.usefixtures("matrix")
def test_the_approval_task_shows_the_number_the_owners_name_and_the_level_in_words(
    login: Login, employee: User, director: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=25).pk)
    assert quote.status == QuoteStatus.PENDING
    english(director)
    page = login(director).get(reverse("workflow:task", args=[_open_task(quote).pk]))
    html = page.content.decode()
    data = html[html.index('id="data"') :]
    data = data[: data.index("</section>")]
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", data))
    assert facts["Quote number"] == quote.number
    assert facts["Owner"] == "张伟"
    assert facts["Approval level"] == "Sales director"
    assert facts["Total"] == "9,742.50"  # 10 × 1,299.00 at 25 % off
    assert "Quote" not in facts  # the quote's id is no business data
    assert 'data-testid="quote-panel"' in html and "人体工学办公椅" in html


def test_quote_amounts_and_the_order_state_read_as_words(
    login: Login, employee: User, make_quote: MakeQuote
) -> None:
    quote = services.quote_submit(by=employee, quote_id=make_quote(discount=5).pk)
    quote = services.quote_accept(by=employee, quote_id=quote.pk, confirmed=True)
    outbox_deliver_due()
    english(employee)
    client = login(employee)
    listing = client.get(reverse("crm:quote_list")).content.decode()
    assert "12,340.50" in listing  # 10 × 1,299.00 at 5 % off
    html = client.get(reverse("crm:quote_detail", args=[quote.pk])).content.decode()
    state = re.search(r'data-testid="order-state">(.*?)</dd>', html)
    assert state is not None and state.group(1) in {str(s) for s in ERP_ORDER_STATES.values()}
    assert "12,340.50" in html


# --- sales ------------------------------------------------------------------------------------


def test_converting_without_look_alikes_shows_no_label_of_the_hidden_account(
    login: Login, employee: User
) -> None:
    lead = sales_services.lead_create(
        by=employee, company="苏州精工机械有限公司", assign_to_me=True
    )
    english(employee)
    text = login(employee).get(reverse("crm:lead_convert", args=[lead.pk])).content.decode()
    assert 'type="hidden" name="account"' in text
    assert 'for="id_account"' not in text


def test_an_empty_timeline_is_a_sentence_not_a_numbered_line(employee: User) -> None:
    request = RequestFactory().get("/")
    request.user = employee
    html = render_to_string("crm/sales/_timeline.html", {"entries": []}, request=request)
    assert "<ol" not in html and "<li" not in html
    assert '<p class="muted' in html and "Nothing happened yet." in html


# --- the shell's styles -----------------------------------------------------------------------


def test_buttons_and_tag_tones_live_in_the_portal_stylesheet_once() -> None:
    portal = (STATIC / "portal" / "portal.css").read_text()
    for rule in (".btn {", ".btn.primary {", ".tag.danger, .tag.overdue {", ".tag.warning {"):
        assert rule in portal
    assert ".tag.ok {" in portal and ".tablewrap {" in portal
    for sheet in (STATIC / "workflow").glob("*.css"):
        assert not re.search(r"\.tag\.(overdue|danger)\b[^{]*\{", sheet.read_text()), sheet.name
