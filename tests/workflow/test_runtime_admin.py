"""Django admin over the engine's runtime: administrators see instances, tasks, jobs and
incidents, edit none of them, and retry an incident through the engine."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from workflow.applications import (
    Application,
    ApplicationCall,
    ApplicationError,
    applications,
)
from workflow.models import Incident, Job, ProcessInstance
from workflow.services import definitions, engine, jobs

pytestmark = pytest.mark.django_db

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="admin_call" name="调用 ERP" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="call" name="预留预算" camunda:type="test.flaky"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def failing_instance() -> Iterator[tuple[int, dict[str, bool]]]:
    state = {"fail": True}

    def handler(call: ApplicationCall) -> dict[str, Any]:
        if state["fail"]:
            raise ApplicationError("ERP answered 400", permanent=True)
        return {"reserved": True}

    applications.register(Application("test.flaky", "flaky", handler))
    definitions.definition_deploy(xml=PROCESS)
    instance = engine.instance_start("admin_call", initiator="emp")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    jobs.jobs_run_due()
    yield instance, state
    applications.unregister("test.flaky")


def test_superuser_sees_the_runtime_and_retries_an_incident(login, superuser, failing_instance):
    instance, state = failing_instance
    incident = Incident.objects.get(instance_id=instance)
    assert "ERP answered 400" in incident.message
    client = login(superuser)
    for url in (
        "/admin/workflow/processinstance/",
        f"/admin/workflow/processinstance/{instance}/change/",
        "/admin/workflow/task/",
        "/admin/workflow/job/",
        "/admin/workflow/incident/",
    ):
        assert client.get(url).status_code == 200, url
    state["fail"] = False
    response = client.post(
        "/admin/workflow/incident/",
        {"action": "retry", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    assert incident.resolved_by == superuser.username
    jobs.jobs_run_due()
    record = ProcessInstance.objects.get(pk=instance)
    assert record.state == "completed"
    assert record.variables["reserved"] is True


def test_runtime_rows_cannot_be_edited_in_admin(login, superuser, failing_instance):
    instance, _state = failing_instance
    client = login(superuser)
    response = client.post(
        f"/admin/workflow/processinstance/{instance}/change/", {"state": "completed"}
    )
    assert response.status_code == 403
    assert client.get("/admin/workflow/processinstance/add/").status_code == 403
    assert ProcessInstance.objects.get(pk=instance).state == "active"


def test_staff_without_workflow_permissions_see_nothing(login, hr_admin, failing_instance):
    client = login(hr_admin)
    assert client.get("/admin/workflow/incident/").status_code == 403
    assert client.get("/admin/workflow/processinstance/").status_code == 403
