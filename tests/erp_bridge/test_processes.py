"""Processes across systems, end to end with the embedded ERP and Celery eager: an approved
expense claim is posted to ERP finance and its number comes back into the request; a refusal
comes back in the initiator's language; onboarding opens the account and creates the ERP
employee once; a department saved in the admin reaches the ERP, in order, and a rolled-back
save sends nothing. Each change leaves through the outbox, after the commit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import translation

from erp_bridge import deliveries
from erp_bridge.applications import post_expense, split_name, sync_employee
from erp_bridge.demo import seed_erp_demo
from erp_bridge.errors import REFUSALS
from erp_bridge.models import (
    EmbeddedDocument,
    EmployeeRecord,
    OrderRecord,
    OutboxMessage,
    OutboxState,
)
from erp_bridge.outbox import outbox_deliver_due, outbox_put
from erp_bridge.webhooks import subscription_create
from portal.models import Department, Notification, User
from portal.services import department_save
from tests.factories import role
from tests.shared_files import shared_path
from tests.workflow.signature_helpers import signature_for
from workflow import demo
from workflow.applications import Application, ApplicationCall, ApplicationError, applications
from workflow.engine.cache import graph_for_definition
from workflow.models import HistoryEvent, Incident, InstanceState, ProcessInstance, Task
from workflow.selectors.timeline import approval_timeline
from workflow.services import approvals, engine, jobs
from workflow.services.definitions import definition_deploy

pytestmark = pytest.mark.django_db

Capture = Callable[..., Any]


# --- the expense claim ------------------------------------------------------------------------


@pytest.fixture
def finance(outsider: User) -> User:
    outsider.groups.add(role("finance_reviewer", "财务审核"))
    return outsider


def claim(initiator: User, **extra: Any) -> int:
    """A demo expense claim of 3,200 yuan, started by ``initiator`` (below 5,000: the line
    manager, then finance)."""
    definition_deploy(
        xml=(demo.DEMO_DIR / "expense_claim.bpmn").read_bytes(), source_name="expense_claim.bpmn"
    )
    variables = {
        "reason": "上海客户拜访",
        "amount": "3200.00",
        "expense_type": "travel",
        "expense_date": "2026-11-20",
        **extra,
    }
    return engine.instance_start(
        "expense_claim", variables=variables, initiator=initiator, title="张伟的费用报销"
    )


def approve(instance_id: int, element_id: str, user: User, **data: Any) -> None:
    task = Task.objects.get(instance_id=instance_id, element_id=element_id, state="open")
    approvals.task_approve(task.pk, user=user, data=data, signature=signature_for(task))


def erp_lines(instance_id: int) -> list[tuple[str, str]]:
    """The ERP's lines in the request's timeline, in English: (what it said, tone)."""
    record = ProcessInstance.objects.get(pk=instance_id)
    with translation.override("en"):
        nodes = approval_timeline(record, graph_for_definition(record.definition_id)).nodes
        return [(n.marks[0].state, n.tone) for n in nodes if n.title == "ERP"]


def test_an_approved_claim_is_posted_and_its_number_shown_on_the_request(
    employee: User,
    dept_head: User,
    finance: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    instance_id = claim(employee)
    approve(instance_id, "Task_ManagerApproval", dept_head)
    assert not OutboxMessage.objects.exists()  # nothing leaves before the claim is approved
    with django_capture_on_commit_callbacks(execute=True):
        approve(instance_id, "Task_FinanceReview", finance, approved_amount="3000.00")
    record = ProcessInstance.objects.get(pk=instance_id)
    assert record.state == InstanceState.COMPLETED
    reference = f"EXP-{instance_id}"
    assert record.variables["erp_posting"] == {"reference": reference, "state": "queued"}

    (message,) = OutboxMessage.objects.all()
    assert (message.operation, message.state, message.aggregate, message.instance_id) == (
        "expense.post",
        OutboxState.DELIVERED,
        f"employee:{employee.employee_no}",
        instance_id,
    )
    document = EmbeddedDocument.objects.get(kind="expense_posting")
    assert document.key == reference
    assert document.data["amount"] == "3000.00"  # finance's approved amount
    assert document.data["employee_code"] == employee.employee_no
    assert document.data["currency"] == "CNY"
    assert document.data["description"] == "张伟的费用报销"
    assert re.fullmatch(r"JV\d{6}\d{6}", document.number)

    assert erp_lines(instance_id) == [(f"posted, number {document.number}", "ok")]
    (event,) = HistoryEvent.objects.filter(instance_id=instance_id, kind="system-event")
    assert event.data["number"] == document.number
    assert event.data["reference"] == reference


def test_a_refused_posting_shows_the_refusal_and_tells_the_initiator(
    employee: User,
    dept_head: User,
    finance: User,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    employee.preferred_language = "en"
    employee.save(update_fields=["preferred_language"])
    instance_id = claim(employee, posting_date="2020-01-31")  # the embedded books closed it
    approve(instance_id, "Task_ManagerApproval", dept_head)
    with django_capture_on_commit_callbacks(execute=True):
        approve(instance_id, "Task_FinanceReview", finance)

    message = OutboxMessage.objects.get(operation="expense.post")
    assert (message.state, message.error_code, message.attempts) == (
        OutboxState.DEAD,
        "closed_period",
        1,
    )
    assert "2020-01-31" in message.last_error  # the ERP's own words, for administrators
    assert not EmbeddedDocument.objects.filter(kind="expense_posting").exists()
    sentence = REFUSALS["closed_period"]
    assert erp_lines(instance_id) == [(sentence, "bad")]
    notice = Notification.objects.get(recipient=employee, dedup_key=f"outbox:{message.pk}:dead")
    assert notice.title == "The ERP refused a change of your request 张伟的费用报销"
    assert notice.body == sentence
    assert notice.url.endswith(f"/{instance_id}/")


def test_an_unknown_code_shows_the_erps_own_words(
    employee: User, dept_head: User, finance: User, django_capture_on_commit_callbacks: Capture
) -> None:
    instance_id = claim(employee)
    approve(instance_id, "Task_ManagerApproval", dept_head)
    approve(instance_id, "Task_FinanceReview", finance)
    message = OutboxMessage.objects.get(operation="expense.post")
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=OutboxState.DEAD, error_code="", last_error="科目 6601 已冻结"
    )
    message.refresh_from_db()
    with transaction.atomic():
        deliveries.refused(message)
    assert erp_lines(instance_id) == [("The ERP refused: 科目 6601 已冻结", "bad")]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"amount": None}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "3200.00", "approved_amount": "0"}, "approved_amount"),
        ({"currency": "yuan"}, "currency"),
        ({"posting_date": "31.01.2026"}, "posting_date"),
        ({"initiator": "nobody"}, "initiator"),
    ],
)
def test_a_bad_variable_refuses_the_step_naming_it(
    employee: User, variables: dict[str, Any], named: str
) -> None:
    given = {"initiator": employee.username, "amount": "100.00", **variables}
    call = ApplicationCall({}, {k: v for k, v in given.items() if v is not None}, 7, "k1")
    with pytest.raises(ApplicationError, match=named) as raised, transaction.atomic():
        post_expense(call)
    assert raised.value.permanent
    assert not OutboxMessage.objects.exists()


def test_an_initiator_without_an_employee_number_cannot_be_posted(employee: User) -> None:
    User.objects.filter(pk=employee.pk).update(employee_no=None)
    call = ApplicationCall({}, {"initiator": employee.username, "amount": 100}, 7, "k1")
    with pytest.raises(ApplicationError, match="no employee number"), transaction.atomic():
        post_expense(call)


def test_the_shared_expense_approval_reserves_budget_by_posting(
    employee: User, dept_head: User, django_capture_on_commit_callbacks: Capture
) -> None:
    holder = User.objects.create_user(username="group.member")
    for code in ("managers", "finance"):
        holder.groups.add(role(code))
    call_command(
        "deploy_process", str(shared_path("bpmn", "expense_approval.bpmn")), stdout=StringIO()
    )
    instance_id = engine.instance_start("expense_approval", initiator=employee)
    fill = Task.objects.get(instance_id=instance_id, element_id="Activity_FillClaim")
    engine.task_complete(
        fill.pk, actor=employee, data={"amount": 1000, "currency": "EUR", "description": "x"}
    )
    manager = Task.objects.get(instance_id=instance_id, element_id="Activity_ManagerApproval")
    with django_capture_on_commit_callbacks(execute=True):
        engine.task_complete(manager.pk, actor="group.member", data={"manager_approved": True})
    document = EmbeddedDocument.objects.get(kind="expense_posting")
    assert (document.data["amount"], document.data["currency"]) == ("1000.00", "EUR")
    # the request still runs (finance reviews): the ERP's number is on it
    record = ProcessInstance.objects.get(pk=instance_id)
    assert record.variables["erp_posting"] == {
        "reference": f"EXP-{instance_id}",
        "number": document.number,
        "state": "posted",
    }
    finance = Task.objects.get(instance_id=instance_id, element_id="Activity_FinanceReview")
    engine.task_complete(finance.pk, actor="group.member", data={"finance_checked": True})
    assert ProcessInstance.objects.get(pk=instance_id).state == InstanceState.COMPLETED


# --- onboarding -------------------------------------------------------------------------------

SYNC = '<bpmn:serviceTask id="Activity_SyncHris" name="Sync employee to HR system"'


def onboarding(*, asynchronous: bool = False) -> None:
    xml = Path(shared_path("bpmn", "onboarding.bpmn")).read_text()
    if asynchronous:  # the step runs as a job of its own, which can fail and be retried
        assert SYNC in xml
        xml = xml.replace(SYNC, SYNC + ' camunda:asyncBefore="true"')
    definition_deploy(xml=xml.encode(), source_name="onboarding.bpmn")


@pytest.fixture
def helpers(hr_admin: User, dept_head: User) -> None:
    holder = User.objects.create_user(username="group.member")
    for code in ("hr", "it", "admin"):
        holder.groups.add(role(code))


def hire(hr_admin: User, dept_head: User) -> int:
    instance_id = engine.instance_start("employee_onboarding", initiator=hr_admin)
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "Activity_EnterNewHire",
            "group.member",
            {
                "employee_name": "陈小明",
                "position": "销售代表",
                "department": "sales",
                "start_date": "2026-12-14",
                "manager_id": dept_head.username,
            },
        ),
        ("Activity_ItAccount", "group.member", {"it_account": "chenxiaoming"}),
        ("Activity_PrepareDesk", "group.member", {"desk_number": "A-12"}),
        ("Activity_AssignMentor", dept_head.username, {"mentor_id": dept_head.username}),
    ]
    for element_id, actor, data in steps:
        task = Task.objects.get(instance_id=instance_id, element_id=element_id, state="open")
        engine.task_complete(task.pk, actor=actor, data=data)
    return instance_id


def assert_one_employee(instance_id: int, org: dict[str, Department], dept_head: User) -> User:
    account = User.objects.get(username="chenxiaoming")
    assert (account.last_name, account.first_name) == ("陈", "小明")
    assert not account.has_usable_password()
    assert account.department == org["sales"]
    assert account.manager == dept_head
    assert account.employee_no
    (message,) = OutboxMessage.objects.filter(operation="employee.create")
    assert message.state == OutboxState.DELIVERED
    assert message.aggregate == f"employee:{account.employee_no}"
    assert EmbeddedDocument.objects.filter(kind="employee").count() == 1
    copy = EmployeeRecord.objects.get()
    assert (copy.code, copy.name, copy.department_code) == (account.employee_no, "陈小明", "SALES")
    variables = ProcessInstance.objects.get(pk=instance_id).variables
    assert variables["employee_account"] == {
        "username": "chenxiaoming",
        "employee_no": account.employee_no,
        "state": "queued",
    }
    assert erp_lines(instance_id) == [
        (f"created the employee {account.employee_no} (陈小明)", "ok")
    ]
    return account


def test_onboarding_opens_the_account_and_creates_the_erp_employee(
    helpers: None,
    hr_admin: User,
    dept_head: User,
    org: dict[str, Department],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    onboarding()
    with django_capture_on_commit_callbacks(execute=True):
        instance_id = hire(hr_admin, dept_head)
    assert_one_employee(instance_id, org, dept_head)


@pytest.fixture
def fails_once() -> Iterator[list[str]]:
    """``hris.sync_employee`` does its work, then the step fails once after it (the worker's
    transaction rolls back, the job becomes an incident that an administrator retries)."""
    failures: list[str] = []
    real = applications.get("hris.sync_employee")
    assert real is not None

    def flaky(call: ApplicationCall) -> Mapping[str, Any] | None:
        result = real.handler(call)
        if not failures:
            failures.append(call.idempotency_key)
            raise ApplicationError("the step failed after its work")
        return result

    stand_in = Application(real.name, real.label, flaky, inline=True)
    with applications.standing_in({real.name: stand_in}):
        yield failures


def test_onboarding_creates_the_employee_once_when_the_steps_job_is_retried(
    helpers: None,
    hr_admin: User,
    dept_head: User,
    org: dict[str, Department],
    fails_once: list[str],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    onboarding(asynchronous=True)
    instance_id = hire(hr_admin, dept_head)
    jobs.jobs_run_due()
    assert fails_once  # the first run did its work, then failed: all of it rolled back
    incident = Incident.objects.get(instance_id=instance_id, resolved_at__isnull=True)
    assert not User.objects.filter(username="chenxiaoming").exists()
    assert not OutboxMessage.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.incident_retry(incident.pk)
        jobs.jobs_run_due()
    account = assert_one_employee(instance_id, org, dept_head)

    # the same call again (a retried job's key) finds its first run's account
    call = ApplicationCall(
        {}, {"employee_name": "陈小明", "initiator": hr_admin.username}, instance_id, fails_once[0]
    )
    retried = OutboxMessage.objects.get(operation="employee.create").idempotency_key
    again = ApplicationCall({}, call.variables, instance_id, retried)
    with transaction.atomic():
        assert sync_employee(again) == {
            "employee_account": {
                "username": account.username,
                "employee_no": account.employee_no,
                "state": "queued",
            }
        }
    # and the step run once more with the account it made in the variables opens none
    variables = ProcessInstance.objects.get(pk=instance_id).variables
    with transaction.atomic():
        sync_employee(ApplicationCall({}, variables, instance_id, "moved-back"))
    assert User.objects.filter(first_name="小明", last_name="陈").count() == 1
    assert OutboxMessage.objects.filter(operation="employee.create").count() == 1


def test_onboarding_refuses_a_login_that_is_taken_naming_it(
    helpers: None, hr_admin: User, employee: User
) -> None:
    call = ApplicationCall(
        {}, {"employee_name": "陈小明", "it_account": employee.username}, 5, "key-1"
    )
    with pytest.raises(ApplicationError, match="username") as raised, transaction.atomic():
        sync_employee(call)
    assert raised.value.permanent
    assert not OutboxMessage.objects.exists()
    missing = ApplicationCall({}, {"it_account": "x"}, 5, "key-2")
    with pytest.raises(ApplicationError, match="employee_name"), transaction.atomic():
        sync_employee(missing)


# --- departments --------------------------------------------------------------------------------


def department_messages() -> list[dict[str, Any]]:
    return list(
        OutboxMessage.objects.filter(operation="department.upsert")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def test_a_department_created_then_renamed_in_the_admin_reaches_the_erp_in_order(
    login: Callable[[User], Client],
    superuser: User,
    org: dict[str, Department],
    django_capture_on_commit_callbacks: Capture,
) -> None:
    client = login(superuser)
    form = {
        "code": "SALES-S",
        "name": "华南区",
        "name_en": "",
        "is_active": "on",
        "treebeard_position": "first-child",
        "treebeard_ref_node": str(org["sales"].pk),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/portal/department/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    south = Department.objects.get(code="SALES-S")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/portal/department/{south.pk}/change/", {**form, "name": "华南大区"}
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert department_messages() == [
        {"code": "SALES-S", "name": "华南区", "parent_code": "SALES", "created": True},
        {"code": "SALES-S", "name": "华南大区", "parent_code": "SALES", "created": False},
    ]
    assert set(
        OutboxMessage.objects.filter(operation="department.upsert").values_list(
            "state", "aggregate"
        )
    ) == {(OutboxState.DELIVERED, "department:SALES-S")}
    (document,) = EmbeddedDocument.objects.filter(kind="department", key="SALES-S")
    assert document.data == {"name": "华南大区", "parent_code": "SALES"}


def test_a_department_moved_in_the_tree_sends_its_new_parent(
    login: Callable[[User], Client], superuser: User, org: dict[str, Department]
) -> None:
    response = login(superuser).post(
        "/admin/portal/department/move/",
        {"node": org["east"].pk, "target": org["finance"].pk, "relation": "child"},
    )
    assert response.status_code == 200
    assert department_messages() == [
        {"code": "SALES-E", "name": "华东区", "parent_code": "FIN", "created": False}
    ]


def test_a_rolled_back_department_save_sends_nothing(org: dict[str, Department]) -> None:
    east = org["east"]
    with pytest.raises(RuntimeError), transaction.atomic():
        east.name = "华东大区"
        department_save(department=east, created=False)
        assert len(department_messages()) == 1  # written with the change ...
        raise RuntimeError("the rest of the save failed")
    assert department_messages() == []  # ... and gone with it
    assert Department.objects.get(pk=east.pk).name == "华东区"


def test_a_bad_department_is_refused_naming_the_field(org: dict[str, Department]) -> None:
    east = org["east"]
    east.name = ""
    with pytest.raises(ValidationError, match="name"), transaction.atomic():
        department_save(department=east, created=False)
    assert department_messages() == []


@pytest.mark.parametrize(
    ("full_name", "given", "family"),
    [
        ("陈小明", "小明", "陈"),
        ("张伟", "伟", "张"),
        ("欧阳明月", "明月", "欧阳"),
        ("Anna Maria Schmidt", "Anna Maria", "Schmidt"),
        ("Madonna", "Madonna", ""),
    ],
)
def test_a_new_hires_name_is_split_as_people_write_it(
    full_name: str, given: str, family: str
) -> None:
    assert split_name(full_name) == (given, family)


def test_without_a_login_from_it_the_account_is_named_by_the_employee_number(
    hr_admin: User,
) -> None:
    call = ApplicationCall({}, {"employee_name": "Anna Schmidt"}, 5, "key-3")
    with transaction.atomic():
        result = sync_employee(call)
    account = User.objects.get(last_name="Schmidt")
    assert account.employee_no
    assert account.username == account.employee_no.lower()
    assert result == {
        "employee_account": {
            "username": account.username,
            "employee_no": account.employee_no,
            "state": "queued",
        }
    }


# --- sales orders -----------------------------------------------------------------------------


def test_a_sales_order_is_booked_recorded_and_announced_once(superuser: User) -> None:
    seed_erp_demo()
    subscription, _secret = subscription_create(
        name="BI", url="http://127.0.0.1:9/h", events=["order.created"], by=superuser
    )
    order = {
        "reference": "Q-2026-0001",
        "customer_code": "C0001",
        "lines": [{"product_code": "P0003", "quantity": "2"}],
    }
    with transaction.atomic():
        outbox_put(operation="sales_order.create", aggregate="customer:C0001", payload=order)
    with transaction.atomic():  # the same order sent again (a second message, another key)
        outbox_put(operation="sales_order.create", aggregate="customer:C0001", payload=order)
    outbox_deliver_due()
    record = OrderRecord.objects.get(reference="Q-2026-0001")
    assert record.number.startswith("SO") and record.state == "confirmed"
    assert str(record.total) == "3798.00"
    assert EmbeddedDocument.objects.filter(kind="sales_order").count() == 1
    announced = OutboxMessage.objects.filter(operation="webhook.deliver")
    assert [m.payload["event"] for m in announced] == ["order.created"]
    assert announced.get().subscription_id == subscription.pk
