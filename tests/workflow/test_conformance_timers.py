"""Timer values other engines run (issue 16, item 5.1): a duration written as a quoted string
literal (SpiffWorkflow's ``"PT1S"``), fractional seconds (``PT0.25S``), and a duration an
expression gives at run time. The files are in ``tests/workflow/conformance/``."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tests.workflow.engine_helpers import assert_ended, complete, fire_timers, open_tasks
from workflow.bpmn.timers import parse_cycle, parse_date, parse_duration
from workflow.bpmn.validate import parse_and_validate
from workflow.models import Job
from workflow.services import definitions as deploys
from workflow.services import engine

CONFORMANCE = Path(__file__).parent / "conformance"


def deploy_file(name: str) -> str:
    data = (CONFORMANCE / name).read_bytes()
    [key] = [p.id for p in parse_and_validate(data).executable_processes]
    deploys.definition_deploy(xml=data, source_name=name)
    return key


def test_a_quoted_literal_is_the_value_it_quotes() -> None:
    assert parse_duration('"PT1S"').to_timedelta() == datetime.timedelta(seconds=1)
    assert parse_duration(" 'PT2H' ").to_timedelta() == datetime.timedelta(hours=2)
    assert parse_date('"2025-01-31T09:00:00Z"', tz=datetime.UTC) == datetime.datetime(
        2025, 1, 31, 9, tzinfo=datetime.UTC
    )
    assert parse_cycle('"R3/PT1H"', tz=datetime.UTC).repetitions == 3


def test_fractional_seconds_keep_their_microseconds() -> None:
    assert parse_duration("PT0.25S").to_timedelta() == datetime.timedelta(microseconds=250_000)


@pytest.mark.django_db
def test_a_quoted_duration_deploys_and_waits_that_long() -> None:
    key = deploy_file("timer_quoted_duration.bpmn")
    before = engine.current_time()
    instance_id = engine.instance_start(key, variables={}, initiator="alice")
    [job] = Job.objects.filter(instance_id=instance_id, kind="timer")
    assert job.element_id == "Event_wait_one_second"
    waited = job.due_at - before
    assert datetime.timedelta(seconds=1) <= waited < datetime.timedelta(seconds=5)
    fire_timers(instance_id)
    assert_ended(instance_id, end_event="Event_end")


@pytest.mark.django_db
def test_fractional_seconds_deploy_and_fire() -> None:
    key = deploy_file("timer_fractional_seconds.bpmn")
    before = engine.current_time()
    instance_id = engine.instance_start(key, variables={}, initiator="alice")
    [job] = Job.objects.filter(instance_id=instance_id, kind="timer")
    waited = job.due_at - before
    assert datetime.timedelta(milliseconds=250) <= waited < datetime.timedelta(seconds=1)
    fire_timers(instance_id, "Event_too_late")
    assert open_tasks(instance_id) == []
    fire_timers(instance_id, "Event_pause")
    assert_ended(instance_id, end_event="Event_timed_out")


@pytest.mark.django_db
def test_fractional_seconds_answered_in_time() -> None:
    key = deploy_file("timer_fractional_seconds.bpmn")
    instance_id = engine.instance_start(key, variables={}, initiator="alice")
    complete(instance_id, "Activity_answer")
    assert_ended(instance_id, end_event="Event_answered")


@pytest.mark.django_db
def test_an_expression_gives_the_duration_at_run_time() -> None:
    key = deploy_file("timer_expression_duration.bpmn")
    before = engine.current_time()
    instance_id = engine.instance_start(key, variables={"pause": '"PT0.5S"'}, initiator="alice")
    [job] = Job.objects.filter(instance_id=instance_id, kind="timer")
    assert datetime.timedelta(milliseconds=500) <= job.due_at - before < datetime.timedelta(1)
    fire_timers(instance_id)
    assert_ended(instance_id, end_event="Event_end")
