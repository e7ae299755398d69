"""Jobs of the engine: asynchronous continuations (``asyncBefore`` / ``asyncAfter``) and
service calls that fail: retries with a growing delay, incidents, and retrying an incident.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.workflow.conftest import RecordingApps
from tests.workflow.engine_helpers import (
    assert_ended,
    chain,
    complete,
    deploy,
    ends,
    flow,
    history,
    instance,
    jobs,
    make_due,
    open_tasks,
    path,
    start,
    variables,
)
from workflow.applications import ApplicationError
from workflow.engine.runtime import AlreadyHandled, BpmnErrorThrown, ProcessError
from workflow.models import Incident, Job, ProcessInstance
from workflow.services import jobs as job_services

pytestmark = pytest.mark.django_db


# --- asynchronous continuations -----------------------------------------------------------------


def test_async_before_waits_in_a_job_then_runs_the_activity() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A" camunda:asyncBefore="true"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    iid = start()
    assert path(iid) == ["start"]
    assert open_tasks(iid) == []
    assert jobs(iid) == [("async", "A")]

    assert job_services.jobs_run_due() == 1

    assert open_tasks(iid) == ["A"]
    assert jobs(iid) == []
    complete(iid, "A")
    assert_ended(iid)


def test_async_before_on_an_inline_service_task_calls_it_in_the_job(apps: RecordingApps) -> None:
    apps.behaviour["test.inline"] = {"done": True}
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.inline" '
        'camunda:async="true"/><endEvent id="end"/>' + chain("start", "S", "end")
    )
    iid = start()
    assert apps.calls == []
    job_services.jobs_run_due()
    assert len(apps.calls) == 1
    assert variables(iid) == {"done": True}
    assert_ended(iid)


def test_async_after_commits_the_activity_then_continues_in_a_job() -> None:
    deploy(
        '<startEvent id="start"/><userTask id="A" camunda:asyncAfter="true"/>'
        '<userTask id="B"/><endEvent id="end"/>' + chain("start", "A", "B", "end")
    )
    iid = start()
    complete(iid, "A")
    assert path(iid) == ["start", "A"]
    assert open_tasks(iid) == []
    assert jobs(iid) == [("async", "A")]

    job_services.jobs_run_due()

    assert path(iid) == ["start", "A"]  # the activity is recorded once, not again
    assert open_tasks(iid) == ["B"]
    assert jobs(iid) == []


def test_async_after_on_a_gateway_continues_on_the_chosen_flow() -> None:
    deploy(
        '<startEvent id="start"/><exclusiveGateway id="gw" camunda:asyncAfter="true" '
        'default="gw-B"/><userTask id="A"/><userTask id="B"/>'
        + flow("start", "gw")
        + flow("gw", "A", "${a}")
        + flow("gw", "B")
        + ends("A", "B")
    )
    iid = start(a=True)
    assert jobs(iid) == [("async", "gw")]
    job_services.jobs_run_due()
    assert open_tasks(iid) == ["A"]


# --- service jobs that fail ---------------------------------------------------------------------

JOB_TASK = (
    '<startEvent id="start"/><serviceTask id="S" camunda:type="test.job"/>'
    '<userTask id="A"/>' + chain("start", "S", "A") + ends("A")
)


def test_a_retryable_failure_is_retried_later_then_becomes_an_incident(
    apps: RecordingApps,
) -> None:
    apps.behaviour["test.job"] = ApplicationError("ERP is down")
    deploy(JOB_TASK)
    iid = start()
    delays = []
    for attempt, retries in ((1, 2), (2, 1)):
        before = timezone.now()
        assert job_services.jobs_run_due() == 1
        job = Job.objects.get(instance_id=iid)
        assert (job.attempts, job.retries, job.last_error) == (attempt, retries, "ERP is down")
        assert job.locked_by == ""
        delays.append((job.due_at - before).total_seconds())
        assert job_services.jobs_run_due() == 0  # not due yet
        assert not Incident.objects.exists()
        make_due(pk=job.pk)
    assert delays[0] >= 9
    assert delays[1] > delays[0]

    assert job_services.jobs_run_due() == 1
    job = Job.objects.get(instance_id=iid)
    assert (job.attempts, job.retries) == (3, 0)
    incident = Incident.objects.get(instance_id=iid)
    assert (incident.job_id, incident.element_id, incident.message) == (job.pk, "S", "ERP is down")
    assert [e.element_id for e in history(iid, "incident")] == ["S"]
    make_due(pk=job.pk)
    assert job_services.jobs_run_due() == 0  # no retries left: it waits for a person
    assert len(apps.called("test.job")) == 3
    assert open_tasks(iid) == []

    apps.behaviour["test.job"] = {"booked": True}
    job_services.incident_retry(incident.pk, by="admin")

    incident.refresh_from_db()
    assert incident.resolved_by == "admin"
    assert incident.resolved_at is not None
    assert job_services.jobs_run_due() == 1
    assert variables(iid) == {"booked": True}
    assert open_tasks(iid) == ["A"]
    assert jobs(iid) == []
    with pytest.raises(AlreadyHandled):
        job_services.incident_retry(incident.pk, by="admin")


def test_a_permanent_failure_becomes_an_incident_at_once(apps: RecordingApps) -> None:
    apps.behaviour["test.job"] = ApplicationError("bad request", permanent=True)
    deploy(JOB_TASK)
    iid = start()
    job_services.jobs_run_due()
    job = Job.objects.get(instance_id=iid)
    assert (job.attempts, job.retries) == (1, 0)
    assert Incident.objects.filter(instance_id=iid, element_id="S").count() == 1
    assert len(apps.called("test.job")) == 1
    assert instance(iid).state == "active"


def test_an_inline_application_failure_rolls_the_start_back(apps: RecordingApps) -> None:
    apps.behaviour["test.inline"] = ApplicationError("no")
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.inline"/>'
        '<endEvent id="end"/>' + chain("start", "S", "end")
    )
    with pytest.raises(ProcessError, match="S: no"):
        start()
    assert not ProcessInstance.objects.exists()


def test_an_uncaught_bpmn_error_of_a_job_becomes_an_incident(apps: RecordingApps) -> None:
    apps.behaviour["test.job"] = BpmnErrorThrown("E9")
    deploy(JOB_TASK)
    iid = start()
    job_services.jobs_run_due()
    assert Incident.objects.filter(instance_id=iid, element_id="S").count() == 1
    assert Job.objects.get(instance_id=iid).retries == 0
    assert open_tasks(iid) == []


def test_each_process_of_a_worker_pool_holds_its_jobs_under_its_own_name(monkeypatch) -> None:
    """The lease holder is worked out at each claim, not when the module was imported: the
    processes a Celery worker forks after importing the services are told apart."""
    deploy(
        '<startEvent id="start"/><userTask id="A" camunda:asyncBefore="true"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    iid = start()
    monkeypatch.setattr("os.getpid", lambda: 424242)
    [job_id] = job_services.jobs_claim()
    assert Job.objects.get(pk=job_id).locked_by.endswith(":424242")
    assert job_services.job_execute(job_id)
    assert open_tasks(iid) == ["A"]


def test_a_claim_leases_the_due_jobs_in_due_order_and_only_the_lease_holder_runs_one() -> None:
    """``jobs_claim`` picks and leases in one statement: the earliest due first, no more
    than asked, none already leased, none not yet due; a worker whose lease was taken over
    runs nothing."""
    deploy(
        '<startEvent id="start"/><userTask id="A" camunda:asyncBefore="true"/>'
        '<endEvent id="end"/>' + chain("start", "A", "end")
    )
    first, second, third, later = (start() for _ in range(4))
    now = timezone.now()
    for iid, minutes in ((first, -3), (second, -2), (third, -1), (later, 60)):
        Job.objects.filter(instance_id=iid).update(due_at=now + datetime.timedelta(minutes=minutes))
    by_instance = dict(Job.objects.values_list("instance_id", "pk"))

    assert job_services.jobs_claim(2, worker="w1") == [by_instance[first], by_instance[second]]
    assert job_services.jobs_claim(10, worker="w2") == [by_instance[third]]
    assert job_services.jobs_claim(10, worker="w3") == []
    leased = Job.objects.get(pk=by_instance[first])
    assert (leased.locked_by, leased.attempts) == ("w1", 1)
    assert leased.locked_until is not None and leased.locked_until > now

    assert job_services.job_execute(by_instance[first], worker="w2") is False  # not w2's
    assert open_tasks(first) == []
    assert job_services.job_execute(by_instance[first], worker="w1") is True
    assert open_tasks(first) == ["A"]
    assert Job.objects.filter(pk=by_instance[first]).exists() is False
