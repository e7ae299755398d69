"""The incident retry says what happened (issue 15, item 17 c): "Retry failed: <reason>" when
the job failed again, success when it went through — in the console, the API and the
service."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import Department, User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import deploy_body, live, make_admin
from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import chain
from tests.workflow.test_views_console import INCIDENTS, RETRY, follow_messages
from workflow.applications import ApplicationError
from workflow.models import HistoryEvent, Incident, Job
from workflow.services import administration, engine, jobs
from workflow.services.steps import NotPermitted

pytestmark = pytest.mark.django_db

BODY = (
    '<startEvent id="start"/><serviceTask id="S" name="Book in ERP" camunda:type="test.job"/>'
    '<userTask id="A" name="Check" camunda:assignee="lina"/><endEvent id="end"/>'
    + chain("start", "S", "A", "end")
)


@pytest.fixture
def admin(org: dict[str, Department]) -> User:
    """徐刚, a process administrator; his pages in English, as these tests read them."""
    user = UserFactory.create(
        username="xugang", first_name="刚", last_name="徐", department=org["root"]
    )
    user.preferred_language = "en"
    user.save()
    return make_admin(user)


@pytest.fixture
def failed(apps: RecordingApps, employee: User) -> int:
    """An instance whose service call failed for good: one open incident."""
    apps.behaviour["test.job"] = ApplicationError("ERP answered 400\nsecond line", permanent=True)
    deploy_body(BODY, key="booking")
    iid = engine.instance_start("booking", initiator=employee, title="Book it")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    jobs.jobs_run_due()
    assert Incident.objects.filter(instance_id=iid, resolved_at__isnull=True).count() == 1
    return iid


def test_a_retry_that_fails_again_says_so_in_the_console(
    login: Callable[[User], Client],
    admin: User,
    failed: int,
    apps: RecordingApps,
) -> None:
    apps.behaviour["test.job"] = ApplicationError("ERP still down", permanent=False)
    first = Incident.objects.get()
    client = login(admin)
    response = client.post(RETRY, {"only": first.pk})
    page = follow_messages(client, response)
    assert "Retry failed: ERP still down" in page
    assert "retried successfully" not in page
    first.refresh_from_db()
    assert first.resolved_by == "xugang"
    again = Incident.objects.get(resolved_at__isnull=True)
    assert (again.pk != first.pk, again.message, again.element_id) == (True, "ERP still down", "S")
    assert again.job_id is not None
    assert Job.objects.get(pk=again.job_id).retries == 0  # waits for the next retry, not a worker
    kinds = list(
        HistoryEvent.objects.filter(instance_id=failed, kind__startswith="incident")
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == ["incident", "incident-retried", "incident"]
    assert "ERP still down" in client.get(INCIDENTS).content.decode()


def test_a_retry_that_works_says_so_and_the_process_goes_on(
    login: Callable[[User], Client],
    admin: User,
    failed: int,
    apps: RecordingApps,
) -> None:
    apps.behaviour["test.job"] = {"booked": True}
    incident = Incident.objects.get()
    client = login(admin)
    page = follow_messages(client, client.post(RETRY, {"only": incident.pk}))
    assert "1 incident retried successfully: the process went on." in page
    assert "Retry failed" not in page
    assert live(failed) == [("A", "lina", "open")]
    assert not Job.objects.filter(instance_id=failed, kind="service").exists()


def test_bulk_retry_reports_each_outcome(
    login: Callable[[User], Client],
    admin: User,
    failed: int,
    apps: RecordingApps,
    employee: User,
) -> None:
    second = engine.instance_start("booking", initiator=employee)
    Job.objects.filter(instance_id=second).update(due_at=timezone.now())
    jobs.jobs_run_due()
    one, two = Incident.objects.order_by("pk")
    calls = iter([{"booked": True}, ApplicationError("timeout", permanent=False)])
    apps.behaviour["test.job"] = lambda call: _next(calls)
    client = login(admin)
    page = follow_messages(client, client.post(RETRY, {"ids": [one.pk, two.pk]}))
    assert "1 incident retried successfully" in page
    assert f"#{two.pk}: Retry failed: timeout" in page


def _next(calls: object) -> object:
    outcome = next(calls)  # type: ignore[call-overload]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def test_the_api_reports_the_outcome(
    login: Callable[[User], Client],
    admin: User,
    failed: int,
    apps: RecordingApps,
) -> None:
    incident = Incident.objects.get()
    answer = login(admin).post(f"/api/v1/incidents/{incident.pk}/retry")
    body = answer.json()
    assert answer.status_code == 200
    assert (body["succeeded"], body["error"]) == (False, "ERP answered 400\nsecond line")
    assert body["new_incident_id"] == Incident.objects.get(resolved_at__isnull=True).pk
    apps.behaviour["test.job"] = {"booked": True}
    answer = login(admin).post(f"/api/v1/incidents/{body['new_incident_id']}/retry")
    assert answer.json()["succeeded"] is True
    assert (answer.json()["error"], answer.json()["new_incident_id"]) == ("", None)


def test_only_administrators_retry(failed: int, employee: User) -> None:
    with pytest.raises(NotPermitted):
        administration.incident_retry(Incident.objects.get().pk, by=employee)
    assert Incident.objects.get().resolved_at is None
