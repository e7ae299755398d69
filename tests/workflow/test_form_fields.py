"""The portal's own form field types (workflow/forms.py, docs/forms.md): money, person,
people and department pickers, the days of a leave; how stored values are displayed; the
small endpoints the fields ask while someone fills them in (workflow/views/form_fields.py).

Personas: ``employee`` 张伟 (starts requests), ``colleague`` 王芳, ``dept_head`` 李娜
(张伟's manager), ``outsider`` 刘洋 (finance).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from portal.models import CalendarDay, DayKind, Department, LeaveBalance, User
from tests.factories import UserFactory, english
from tests.workflow.approval_helpers import deploy_body, open_task, user_task
from tests.workflow.engine_helpers import chain, flow
from workflow.bpmn.model import FormField
from workflow.engine.cache import graph_for_definition
from workflow.forms import display_value, form_for, validate_step_data
from workflow.models import ProcessInstance
from workflow.selectors.timeline import business_data
from workflow.services import starts


def field(kind: str, field_id: str = "f", *constraints: str, extra: str = "") -> str:
    rules = "".join(f"<camunda:constraint {c}/>" for c in constraints)
    validation = f"<camunda:validation>{rules}</camunda:validation>" if rules else ""
    return (
        f'<camunda:formField id="{field_id}" label="{field_id}" type="{kind}">'
        f"{extra}{validation}</camunda:formField>"
    )


REQUIRED = 'name="required"'


def start_with(*fields: str, key: str = "p", after: str = "") -> str:
    """Deploy ``start (fields) -> approve (the initiator's manager) -> end``."""
    body = (
        '<startEvent id="start" name="Request"><extensionElements><camunda:formData>'
        + "".join(fields)
        + "</camunda:formData></extensionElements></startEvent>"
        + user_task("approve", assignee="${manager(initiator)}")
        + '<endEvent id="end"/>'
        + chain("start", "approve", "end")
        + after
    )
    deploy_body(body, key=key)
    return key


def start_element(key: str = "p") -> Any:
    from workflow.engine.store import latest_definition

    definition = latest_definition(key)
    assert definition is not None
    return graph_for_definition(definition).start_event(None)


def clean(data: dict[str, Any], *, key: str = "p", user: User | None = None) -> dict[str, Any]:
    return validate_step_data(start_element(key), variables={}, data=data, user=user)


def errors(data: dict[str, Any], *, key: str = "p", user: User | None = None) -> dict[str, Any]:
    with pytest.raises(ValidationError) as caught:
        clean(data, key=key, user=user)
    return {name: [e.code for e in errs] for name, errs in caught.value.error_dict.items()}


# --- money -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("1280", "1280.00"),
        ("1,280.5", "1280.50"),
        ("¥12345.6", "12345.60"),
        (" 88 元 ", "88.00"),
        ("１２８０．０５", "1280.05"),  # full-width digits, as a Chinese input method types them
        (3200, "3200.00"),
        (0.1, "0.10"),
        ("999999999999.99", "999999999999.99"),
        ("", None),
    ],
)
def test_money_is_stored_as_text_with_two_decimals(typed: Any, stored: str | None) -> None:
    start_with(field("money", "amount"))
    assert clean({"amount": typed}) == {"amount": stored}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("12.345", "max_decimal_places"),  # 厘 do not exist on an invoice
        ("12.3.4", "invalid"),
        ("lots", "invalid"),
        ("1e5", "invalid"),
        (True, "invalid"),
        ([12], "invalid"),
        ("1000000000000", "max_value"),
        ("-5", "min_value"),
        (float("nan"), "invalid"),
    ],
)
def test_money_refuses_what_is_no_amount(typed: Any, code: str) -> None:
    start_with(field("money", "amount"))
    assert errors({"amount": typed}) == {"amount": [code]}


@pytest.mark.django_db
def test_money_messages_say_what_is_wrong() -> None:
    start_with(field("money", "amount", 'name="min" config="0.01"'))
    form = form_for(start_element(), variables={}, data={"amount": "12.345"})
    assert form.errors["amount"] == ["An amount has at most two decimals (jiao and fen)."]
    form = form_for(start_element(), variables={}, data={"amount": "1000000000000"})
    assert form.errors["amount"] == ["The amount cannot be more than 999,999,999,999.99."]
    form = form_for(start_element(), variables={}, data={"amount": "0"})
    assert form.errors["amount"] == ["The amount cannot be less than 0.01."]


@pytest.mark.django_db
def test_a_broken_money_limit_refuses_every_amount() -> None:
    start_with(field("money", "amount", 'name="max" config="much"'))
    assert errors({"amount": "5"}) == {"amount": ["invalid_definition"]}


@pytest.mark.django_db
@pytest.mark.parametrize(("amount", "step"), [("4999.99", "small"), ("5000.00", "big")])
def test_conditions_compare_stored_amounts(employee: User, amount: str, step: str) -> None:
    body = (
        '<startEvent id="start"><extensionElements><camunda:formData>'
        + field("money", "amount")
        + "</camunda:formData></extensionElements></startEvent>"
        + '<exclusiveGateway id="gw" default="gw-small"/>'
        + user_task("big", assignee="${manager(initiator)}")
        + user_task("small", assignee="${manager(initiator)}")
        + '<endEvent id="end"/>'
        + flow("start", "gw")
        + flow("gw", "big", "${amount &gt;= 5000}")
        + flow("gw", "small")
        + chain("big", "end")
        + chain("small", "end")
    )
    deploy_body(body, key="claim")
    instance_id, _created = starts.request_submit(
        user=employee, key="claim", data={"amount": amount}
    )
    assert ProcessInstance.objects.get(pk=instance_id).variables["amount"] == amount
    assert open_task(instance_id).element_id == step


def test_money_is_displayed_with_thousands_separators() -> None:
    money = FormField(id="amount", label="金额", type="money")
    assert display_value(money, "12345.60") == "12,345.60"
    assert display_value(money, "999999999999.99") == "999,999,999,999.99"
    assert display_value(money, 3200) == "3,200.00"  # a value stored before the type changed
    assert display_value(money, None) == "—"


@pytest.mark.django_db
def test_money_widget_shows_the_amount_read_back() -> None:
    start_with(field("money", "amount"))
    html = str(form_for(start_element(), variables={"amount": "12345.60"})["amount"])
    assert 'inputmode="decimal"' in html and 'value="12345.60"' in html
    assert "12,345.60 · 壹万贰仟叁佰肆拾伍元陆角整" in html


# --- people and departments ----------------------------------------------------------------------


@pytest.fixture
def people(employee: User, colleague: User, outsider: User, dept_head: User) -> dict[str, User]:
    return {"employee": employee, "colleague": colleague, "outsider": outsider}


@pytest.mark.django_db
def test_a_person_is_stored_by_user_name(people: dict[str, User]) -> None:
    start_with(field("person", "handover", REQUIRED))
    assert clean({"handover": "wangfang"}) == {"handover": "wangfang"}
    number = people["colleague"].employee_no
    assert number
    assert clean({"handover": number}) == {"handover": "wangfang"}  # API: an employee number


@pytest.mark.django_db
def test_an_unknown_or_inactive_person_is_refused(people: dict[str, User]) -> None:
    start_with(field("person", "handover", REQUIRED))
    assert errors({"handover": "nobody"}) == {"handover": ["unknown_person"]}
    UserFactory.create(username="gone", is_active=False)
    assert errors({"handover": "gone"}) == {"handover": ["unknown_person"]}
    assert errors({"handover": ""}) == {"handover": ["required"]}
    assert errors({"handover": ["wangfang"]}) == {"handover": ["invalid"]}
    form = form_for(start_element(), variables={}, data={"handover": "gone"})
    assert form.errors["handover"] == ["Nobody active is called gone."]


@pytest.mark.django_db
def test_people_are_a_list_of_user_names(people: dict[str, User]) -> None:
    start_with(field("people", "approvers"))
    assert clean({"approvers": ["liuyang", "wangfang", "liuyang"]}) == {
        "approvers": ["liuyang", "wangfang"]
    }
    assert clean({"approvers": "liuyang, wangfang"}) == {"approvers": ["liuyang", "wangfang"]}
    assert clean({"approvers": []}) == {"approvers": []}
    assert errors({"approvers": ["liuyang", "ghost"]}) == {"approvers": ["unknown_person"]}
    assert errors({"approvers": [1]}) == {"approvers": ["invalid"]}


@pytest.mark.django_db
def test_a_department_is_stored_by_code(org: dict[str, Department]) -> None:
    start_with(field("department", "unit", REQUIRED))
    assert clean({"unit": "FIN"}) == {"unit": "FIN"}
    assert errors({"unit": "NOPE"}) == {"unit": ["unknown_department"]}
    org["hr"].is_active = False
    org["hr"].save()
    assert errors({"unit": "HR"}) == {"unit": ["unknown_department"]}


@pytest.mark.django_db
def test_people_and_departments_are_displayed_by_name(
    people: dict[str, User], org: dict[str, Department]
) -> None:
    person = FormField(id="handover", label="交接人", type="person")
    many = FormField(id="approvers", label="会签人", type="people")
    unit = FormField(id="unit", label="部门", type="department")
    assert display_value(person, "wangfang") == "王芳"
    assert display_value(many, ["wangfang", "liuyang"]) == "王芳、刘洋"
    assert display_value(many, ["wangfang", "left-the-company"]) == "王芳、left-the-company"
    assert display_value(unit, "FIN") == "财务部"


@pytest.mark.django_db
def test_the_picker_shows_names_not_user_names(people: dict[str, User]) -> None:
    start_with(field("person", "handover"), field("people", "approvers"))
    form = form_for(start_element(), variables={"handover": "wangfang", "approvers": ["liuyang"]})
    html = str(form["handover"]) + str(form["approvers"])
    assert '<span class="chip-label">王芳</span>' in html
    assert '<input type="hidden" name="handover" value="wangfang">' in html
    assert '<span class="chip-label">刘洋</span>' in html
    assert 'data-search-url="/workflow/people/"' in html
    assert 'type="search"' in html and 'name="handover" value=' in html


@pytest.mark.django_db
def test_the_request_data_shows_names_and_amounts(people: dict[str, User], dept_head: User) -> None:
    start_with(field("person", "handover"), field("money", "amount"), field("people", "cc"))
    instance_id, _created = starts.request_submit(
        user=people["employee"],
        key="p",
        data={"handover": "wangfang", "amount": "8600.5", "cc": ["liuyang", "wangfang"]},
    )
    instance = ProcessInstance.objects.get(pk=instance_id)
    graph = graph_for_definition(instance.definition_id)
    shown = dict(business_data(instance, graph, dept_head))
    assert shown["handover"] == "王芳"
    assert shown["amount"] == "8,600.50"
    assert shown["cc"] == "刘洋、王芳"


# --- leave days -----------------------------------------------------------------------------------

LEAVE_FIELDS = (
    '<camunda:formField id="leave_type" label="Kind" type="enum">'
    '<camunda:value id="annual" name="年假"/><camunda:value id="sick" name="病假"/>'
    '<camunda:validation><camunda:constraint name="required"/></camunda:validation>'
    "</camunda:formField>"
    + field("date", "start_date", REQUIRED)
    + '<camunda:formField id="start_half" label="From" type="enum" defaultValue="am">'
    '<camunda:value id="am" name="上午"/><camunda:value id="pm" name="下午"/></camunda:formField>'
    + field("date", "end_date", REQUIRED)
    + '<camunda:formField id="end_half" label="Until" type="enum" defaultValue="pm">'
    '<camunda:value id="am" name="上午"/><camunda:value id="pm" name="下午"/></camunda:formField>'
    + field("leave_days", "days")
)


def leave(**values: Any) -> dict[str, Any]:
    data = {
        "leave_type": "annual",
        "start_date": "2026-12-07",  # Monday
        "start_half": "am",
        "end_date": "2026-12-11",  # Friday
        "end_half": "pm",
    }
    return {**data, **values}


@pytest.mark.django_db
def test_the_server_counts_the_days_whatever_is_posted(employee: User) -> None:
    start_with(LEAVE_FIELDS)
    assert clean(leave(days="1"), user=employee)["days"] == 5
    assert clean(leave(days="99", start_half="pm"), user=employee)["days"] == 4.5
    assert clean(leave(end_date="2026-12-14", end_half="am"), user=employee)["days"] == 5.5


@pytest.mark.django_db
def test_a_forged_number_of_days_does_not_reach_the_process(employee: User) -> None:
    start_with(LEAVE_FIELDS)
    instance_id, _created = starts.request_submit(
        user=employee, key="p", data=leave(days="0.5", end_date="2026-12-08")
    )
    assert ProcessInstance.objects.get(pk=instance_id).variables["days"] == 2


@pytest.mark.django_db
def test_holidays_are_not_counted(employee: User) -> None:
    start_with(LEAVE_FIELDS)
    CalendarDay.objects.create(date=datetime.date(2026, 12, 9), kind=DayKind.HOLIDAY, name="x")
    CalendarDay.objects.create(date=datetime.date(2026, 12, 12), kind=DayKind.WORKDAY, name="y")
    assert clean(leave(end_date="2026-12-13"), user=employee)["days"] == 5


@pytest.mark.django_db
def test_an_end_before_the_start_is_refused(employee: User) -> None:
    start_with(LEAVE_FIELDS)
    assert errors(leave(end_date="2026-12-06"), user=employee) == {"end_date": ["end_before_start"]}
    assert errors(leave(start_date="2026-12-12", end_date="2026-12-13")) == {"days": ["no_workday"]}


@pytest.mark.django_db
def test_a_leave_over_the_balance_is_refused(employee: User, colleague: User) -> None:
    start_with(LEAVE_FIELDS)
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=Decimal("4.5"))
    form = form_for(start_element(), variables={}, data=leave(), user=employee)
    assert form.errors["days"] == [
        "This leave takes 5 days but only 4.5 days of 年假 are left. "
        "Shorten it or choose another kind of leave."
    ]
    assert errors(leave(), user=employee) == {"days": ["over_balance"]}
    assert clean(leave(start_half="pm"), user=employee)["days"] == 4.5  # just fits
    assert clean(leave(leave_type="sick"), user=employee)["days"] == 5  # no sick balance held
    assert clean(leave(), user=colleague)["days"] == 5  # her balance is not his
    with pytest.raises(ValidationError):
        starts.request_submit(user=employee, key="p", data=leave())
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_a_resubmitted_leave_checks_the_initiators_balance(employee: User) -> None:
    start_with(LEAVE_FIELDS)
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=Decimal(2))
    with pytest.raises(ValidationError):
        validate_step_data(start_element(), variables={"initiator": "zhangwei"}, data=leave())


# --- the endpoints ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_leave_days_endpoint(login: Any, employee: User) -> None:
    english(employee)
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=Decimal(3))
    client: Client = login(employee)
    query = {
        "start": "2026-12-07",
        "start_half": "pm",
        "end": "2026-12-08",
        "end_half": "pm",
        "leave_type": "annual",
        "leave_label": "年假",
    }

    def answer(**changed: str) -> str:
        text: str = client.get("/workflow/forms/leave-days/", {**query, **changed}).content.decode()
        return text

    html = answer()
    assert 'data-days="1.5"' in html and "1.5 workdays" in html and "年假 left: 3 days" in html
    assert "more than the balance" in answer(end="2026-12-11")
    html = answer(end="2026-12-01")
    assert "The leave cannot end before it starts." in html and "data-days" not in html


@pytest.mark.django_db
def test_department_search(login: Any, employee: User, org: dict[str, Department]) -> None:
    org["hr"].is_active = False
    org["hr"].save()
    client: Client = login(employee)
    html = client.get("/workflow/forms/departments/", {"q": "华东"}).content.decode()
    assert 'data-pick="SALES-E"' in html and "总经办 / 销售部 / 华东区" in html
    html = client.get("/workflow/forms/departments/", {"q": "人力"}).content.decode()
    assert "data-pick" not in html  # inactive


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/workflow/forms/departments/", "/workflow/forms/leave-days/"])
def test_the_endpoints_need_a_signed_in_person(client: Client, url: str) -> None:
    response = client.get(url, {"q": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
