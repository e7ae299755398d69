"""Races on a real database: two people or two workers acting on one instance at the same
moment. Each action locks the root instance row first, so exactly one wins and the other gets
a clear answer; a join fires once; workers never run a job twice.

These need real concurrent connections, so they run on PostgreSQL (CI's second pass); on
SQLite the write lock taken at BEGIN serializes the whole database and the same tests would
only prove that.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from workflow.engine.runtime import AlreadyHandled
from workflow.models import HistoryEvent, Job, ProcessInstance, Task
from workflow.services import definitions, engine, jobs

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="races need concurrent connections (PostgreSQL)"
    ),
]

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">"""

ONE_TASK = (
    HEAD
    + """
  <bpmn:process id="race_one" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve" camunda:assignee="boss"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
)

PARALLEL = (
    HEAD
    + """
  <bpmn:process id="race_join" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:userTask id="left" camunda:assignee="a"/>
    <bpmn:userTask id="right" camunda:assignee="b"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:userTask id="after" camunda:assignee="c"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="left"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="right"/>
    <bpmn:sequenceFlow id="f4" sourceRef="left" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="right" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="after"/>
    <bpmn:sequenceFlow id="f7" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
)

TIMER_RACE = (
    HEAD
    + """
  <bpmn:process id="race_timer" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="approve" camunda:assignee="boss"/>
    <bpmn:boundaryEvent id="late" attachedToRef="approve">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="done"/>
    <bpmn:endEvent id="expired"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="done"/>
    <bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="expired"/>
  </bpmn:process>
</bpmn:definitions>"""
)


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads released at the same instant; each one's result or the
    exception it raised."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def worker(index: int, action: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = action()
        except Exception as error:  # the test inspects it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_people_complete_the_same_task_exactly_one_wins() -> None:
    definitions.definition_deploy(xml=ONE_TASK)
    for _round in range(8):
        instance = engine.instance_start("race_one", initiator="emp")
        task = Task.objects.get(instance_id=instance, state="open")
        results = race(
            partial(engine.task_complete, task.pk, actor="boss", data={"who": "first"}),
            partial(engine.task_complete, task.pk, actor="boss", data={"who": "second"}),
        )
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(losers) == 1, results
        assert isinstance(losers[0], AlreadyHandled)
        # the threads speak the site's default language (zh-hans in the test settings)
        assert str(losers[0]) == "此任务已被处理。"
        task.refresh_from_db()
        assert task.state == "completed"
        assert ProcessInstance.objects.get(pk=instance).state == "completed"
        assert HistoryEvent.objects.filter(instance_id=instance, kind="task-completed").count() == 1
        assert HistoryEvent.objects.filter(instance_id=instance, kind="instance-end").count() == 1


def test_branches_arriving_together_fire_the_join_once() -> None:
    definitions.definition_deploy(xml=PARALLEL)
    for _round in range(8):
        instance = engine.instance_start("race_join", initiator="emp")
        left = Task.objects.get(instance_id=instance, element_id="left")
        right = Task.objects.get(instance_id=instance, element_id="right")
        results = race(
            partial(engine.task_complete, left.pk, actor="a"),
            partial(engine.task_complete, right.pk, actor="b"),
        )
        assert results == [None, None]
        after = Task.objects.filter(instance_id=instance, element_id="after")
        assert after.count() == 1
        joins = HistoryEvent.objects.filter(
            instance_id=instance, kind="activity", element_id="join"
        )
        assert joins.count() == 2  # one row per arriving branch, one token goes on
        engine.task_complete(after.get().pk, actor="c")
        assert ProcessInstance.objects.get(pk=instance).state == "completed"


def test_a_timer_and_a_person_racing_for_one_task_leave_one_outcome() -> None:
    definitions.definition_deploy(xml=TIMER_RACE)
    for _round in range(8):
        instance = engine.instance_start("race_timer", initiator="emp")
        task = Task.objects.get(instance_id=instance, state="open")
        Job.objects.filter(instance_id=instance).update(
            due_at=timezone.now() - datetime.timedelta(seconds=1)
        )
        results = race(
            partial(engine.task_complete, task.pk, actor="boss"),
            partial(jobs.jobs_run_due, worker="timer-worker"),
        )
        record = ProcessInstance.objects.get(pk=instance)
        assert record.state == "completed"
        task.refresh_from_db()
        if record.end_event == "done":
            assert results[0] is None
            assert task.state == "completed"
        else:
            assert record.end_event == "expired"
            assert isinstance(results[0], AlreadyHandled)
            assert task.state == "cancelled"
        assert not Job.objects.filter(instance_id=instance).exists()
        ends = HistoryEvent.objects.filter(instance_id=instance, kind="instance-end")
        assert ends.count() == 1


def test_workers_claiming_at_once_never_share_a_job() -> None:
    definitions.definition_deploy(xml=TIMER_RACE)
    for _ in range(20):
        engine.instance_start("race_timer", initiator="emp")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    results = race(
        partial(jobs.jobs_claim, 20, worker="w1"),
        partial(jobs.jobs_claim, 20, worker="w2"),
        partial(jobs.jobs_claim, 20, worker="w3"),
    )
    claimed = [job_id for found in results for job_id in found]
    assert len(claimed) == len(set(claimed)) == 20
    assert set(Job.objects.values_list("locked_by", flat=True)) <= {"w1", "w2", "w3"}


def test_a_dead_workers_job_is_taken_again_after_its_lease() -> None:
    definitions.definition_deploy(xml=TIMER_RACE)
    instance = engine.instance_start("race_timer", initiator="emp")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    assert jobs.jobs_claim(5, worker="dead") != []
    assert jobs.jobs_claim(5, worker="alive") == []  # the lease still holds
    Job.objects.update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    (job_id,) = jobs.jobs_claim(5, worker="alive")
    assert jobs.job_execute(job_id, worker="dead") is False  # no longer its job
    assert jobs.job_execute(job_id, worker="alive") is True
    assert ProcessInstance.objects.get(pk=instance).end_event == "expired"
