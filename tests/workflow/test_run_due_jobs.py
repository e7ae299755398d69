"""``manage.py run_due_jobs`` (issue 15, item 17 a): cron's way to run due jobs without a
worker; the same runner as the Celery beat task."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.workflow.test_embedded_sweep import PROCESS
from workflow.applications import ApplicationError
from workflow.models import Incident, Job, ProcessInstance
from workflow.services import definitions, engine

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("run_due_jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _due_now() -> None:
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))


def test_a_due_timer_fires_and_the_summary_says_so() -> None:
    definitions.definition_deploy(xml=PROCESS)
    instance = engine.instance_start("wait_a_day")
    assert _run() == ("Ran 0 due jobs.\n", "")  # the timer waits a day
    assert ProcessInstance.objects.get(pk=instance).state == "active"
    _due_now()
    assert _run() == ("Ran 1 due job.\n", "")
    assert ProcessInstance.objects.get(pk=instance).state == "completed"
    assert not Job.objects.exists()


def test_the_limit_leaves_the_rest_for_the_next_run() -> None:
    definitions.definition_deploy(xml=PROCESS)
    ids = [engine.instance_start("wait_a_day") for _ in range(3)]
    _due_now()
    out, _err = _run("--limit", "2")
    assert out == "Ran 2 due jobs; the limit was reached and 1 more are due.\n"
    assert _run("--limit", "2")[0] == "Ran 1 due job.\n"
    assert set(ProcessInstance.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        "completed"
    }


def test_quiet_prints_nothing_when_nothing_was_due() -> None:
    assert _run("--quiet") == ("", "")
    with pytest.raises(CommandError):
        _run("--limit", "0")


def test_a_job_that_fails_for_good_is_named(apps) -> None:
    from tests.workflow.approval_helpers import deploy_body
    from tests.workflow.engine_helpers import chain

    apps.behaviour["test.job"] = ApplicationError("ERP answered 400", permanent=True)
    deploy_body(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="test.job"/>'
        '<endEvent id="end"/>' + chain("start", "S", "end"),
        key="booking",
    )
    instance = engine.instance_start("booking")
    _due_now()
    out, err = _run("--quiet")
    incident = Incident.objects.get()
    assert out == "Ran 1 due job; 1 failed for good (incidents).\n"
    assert err == f"incident {incident.pk} (instance {instance}, step S): ERP answered 400\n"
