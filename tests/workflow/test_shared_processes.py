"""The three shared processes deploy unchanged against the applications the product ships
(the ERP/HR steps through the outbox, the document connector, the manager reminder)."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from erp_bridge.models import OutboxMessage
from portal.models import Notification, User
from tests.factories import role
from tests.shared_files import shared_path
from workflow.engine.runtime import ProcessError
from workflow.models import Incident, Job, ProcessInstance, Task
from workflow.services import engine, jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _groups_of_the_shared_files() -> None:
    """The candidate groups the shared files name, each held by someone: a group nobody
    holds would make the step an incident ("nobody can handle it")."""
    holder = User.objects.create_user(username="group.member")
    for code in ("managers", "directors", "finance", "records", "hr", "it", "admin"):
        holder.groups.add(role(code))


FILES = ("expense_approval.bpmn", "contract_countersign.bpmn", "onboarding.bpmn")


def test_the_shared_files_deploy_unchanged() -> None:
    out = StringIO()
    call_command("deploy_process", *(str(shared_path("bpmn", name)) for name in FILES), stdout=out)
    assert out.getvalue().split("\n")[:3] == [
        "expense_approval v1 deployed",
        "contract_countersign v1 deployed",
        "employee_onboarding v1 deployed",
    ]


def _claim_to_finance(initiator: str, amount: int) -> int:
    call_command(
        "deploy_process", str(shared_path("bpmn", "expense_approval.bpmn")), stdout=StringIO()
    )
    instance = engine.instance_start("expense_approval", initiator=initiator)
    fill = Task.objects.get(instance_id=instance, element_id="Activity_FillClaim")
    engine.task_complete(fill.pk, actor=initiator, data={"amount": amount, "currency": "CNY"})
    manager = Task.objects.get(instance_id=instance, element_id="Activity_ManagerApproval")
    engine.task_complete(manager.pk, actor="boss", data={"manager_approved": True})
    return instance


def test_reserve_budget_queues_the_expense_posting_once(employee) -> None:
    """``erp.reserve_budget`` is inline: the manager's approval writes the expense posting's
    outbox message in the approval's transaction (erp_bridge/applications.py): no job, no HTTP."""
    instance = _claim_to_finance(employee.username, 1000)
    assert not Job.objects.filter(instance_id=instance, kind="service").exists()
    (message,) = OutboxMessage.objects.filter(instance_id=instance)
    assert message.operation == "expense.post"
    assert message.payload["amount"] == "1000.00"
    assert message.payload["currency"] == "CNY"
    assert message.payload["employee_code"] == employee.employee_no
    record = ProcessInstance.objects.get(pk=instance)
    assert record.variables["erp_posting"] == {"reference": f"EXP-{instance}", "state": "queued"}
    finance = Task.objects.get(instance_id=instance, element_id="Activity_FinanceReview")
    engine.task_complete(finance.pk, actor="fin", data={"finance_checked": True})
    assert ProcessInstance.objects.get(pk=instance).state == "completed"
    assert OutboxMessage.objects.filter(instance_id=instance).count() == 1


def test_a_claimant_unknown_to_the_portal_is_refused_naming_the_initiator() -> None:
    with pytest.raises(ProcessError, match="initiator"):
        _claim_to_finance("zhang.wei", 1000)
    instance = ProcessInstance.objects.get(definition_key="expense_approval")
    assert instance.state == "active"
    assert Task.objects.get(instance_id=instance.pk, state="open").element_id == (
        "Activity_ManagerApproval"
    )
    assert not OutboxMessage.objects.exists()
    assert not Incident.objects.exists()


def test_the_manager_reminder_reaches_the_initiators_manager(employee, dept_head) -> None:
    call_command(
        "deploy_process", str(shared_path("bpmn", "expense_approval.bpmn")), stdout=StringIO()
    )
    instance = engine.instance_start("expense_approval", initiator=employee)
    fill = Task.objects.get(instance_id=instance, element_id="Activity_FillClaim")
    engine.task_complete(fill.pk, actor=employee, data={"amount": 8000})
    Job.objects.filter(instance_id=instance, kind="timer").update(
        due_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    jobs.jobs_run_due()  # the 2-day timer fires, then the reminder job runs
    reminder = Notification.objects.get(recipient=dept_head)
    assert "审批" in reminder.title or "approval" in reminder.title
    assert Task.objects.get(instance_id=instance, state="open").element_id == (
        "Activity_ManagerApproval"
    )
