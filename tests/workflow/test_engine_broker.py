"""The engine's job path through a real broker and worker: a service call is a job row,
the commit wakes a worker through the broker, and the worker runs it (CI: Redis)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from portal.celery import app as celery_app
from workflow.applications import Application, ApplicationCall, applications
from workflow.models import Job, ProcessInstance
from workflow.services import definitions, engine

pytestmark = [
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="CELERY_BROKER_URL is not set: no real broker to test against",
    ),
]

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="broker_call" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="call" camunda:type="test.broker_echo"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def echo_app() -> Iterator[list[str]]:
    calls: list[str] = []

    def handler(call: ApplicationCall) -> dict[str, Any]:
        calls.append(call.idempotency_key)
        return {"echoed": call.variables["text"]}

    applications.register(Application("test.broker_echo", "echo", handler))
    yield calls
    applications.unregister("test.broker_echo")


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_service_call_runs_on_a_worker_woken_through_the_broker(echo_app) -> None:
    assert celery_app.conf.task_always_eager is False
    definitions.definition_deploy(xml=PROCESS)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        instance = engine.instance_start("broker_call", variables={"text": "你好"})
        assert Job.objects.filter(instance_id=instance, kind="service").exists() or (
            ProcessInstance.objects.get(pk=instance).state == "completed"
        )
        done = _wait_for(lambda: ProcessInstance.objects.get(pk=instance).state == "completed")
    assert done, "the worker did not run the service job"
    record = ProcessInstance.objects.get(pk=instance)
    assert record.variables["echoed"] == "你好"
    assert echo_app == [echo_app[0]]  # called once
    assert not Job.objects.filter(instance_id=instance).exists()
