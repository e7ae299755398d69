"""The three shared processes deploy unchanged against the applications the product ships
(ERP/HR/document connectors, the manager reminder) and reach those systems as jobs."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_django import Settings

from portal.models import Notification, User
from tests.factories import role
from tests.shared_files import shared_path
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


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Recorder.received.append((self.path, self.headers["Idempotency-Key"], body))
        answer = json.dumps({"reservation": "R-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def erp(settings: Settings) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    _Recorder.received = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ERP_BRIDGE_URL = f"http://127.0.0.1:{server.server_port}/erp/"
    yield _Recorder.received
    server.shutdown()


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


def test_reserve_budget_posts_to_the_erp_bridge_once(erp) -> None:
    instance = _claim_to_finance("zhang.wei", 1000)
    assert Job.objects.filter(instance_id=instance, kind="service").count() == 1
    assert jobs.jobs_run_due() == 1
    ((path, key, body),) = erp
    assert path == "/erp/reserve_budget"
    assert key.startswith("job:")
    assert body["instance"] == instance
    assert body["variables"]["amount"] == 1000
    record = ProcessInstance.objects.get(pk=instance)
    assert record.variables["erp_reserve_budget"] == {"reservation": "R-1"}
    finance = Task.objects.get(instance_id=instance, element_id="Activity_FinanceReview")
    engine.task_complete(finance.pk, actor="fin", data={"finance_checked": True})
    assert ProcessInstance.objects.get(pk=instance).state == "completed"


def test_an_unconfigured_erp_makes_an_incident_that_says_what_to_set(settings) -> None:
    settings.ERP_BRIDGE_URL = ""
    instance = _claim_to_finance("zhang.wei", 1000)
    jobs.jobs_run_due()
    incident = Incident.objects.get(instance_id=instance)
    assert incident.element_id == "Activity_ReserveBudget"
    assert "set ERP_BRIDGE_URL" in incident.message
    assert ProcessInstance.objects.get(pk=instance).state == "active"


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
