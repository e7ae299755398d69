"""Embedded default (no broker, no beat): a timer that came due is fired after a request."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from workflow import sweep
from workflow.models import Job, ProcessInstance
from workflow.services import definitions, engine

pytestmark = pytest.mark.django_db

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="t">
  <bpmn:process id="wait_a_day" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="day">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="day"/>
    <bpmn:sequenceFlow id="f2" sourceRef="day" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_due_timer_fires_after_the_next_request(client, settings) -> None:
    settings.WORKFLOW_EMBEDDED_SWEEP = 10
    sweep.reset()
    definitions.definition_deploy(xml=PROCESS)
    instance = engine.instance_start("wait_a_day")
    client.get("/accounts/login/")
    assert ProcessInstance.objects.get(pk=instance).state == "active"  # not due yet
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    sweep.reset()
    client.get("/accounts/login/")
    assert ProcessInstance.objects.get(pk=instance).state == "completed"


def test_the_sweep_is_off_when_set_to_zero(client, settings) -> None:
    settings.WORKFLOW_EMBEDDED_SWEEP = 0
    sweep.reset()
    definitions.definition_deploy(xml=PROCESS)
    instance = engine.instance_start("wait_a_day")
    Job.objects.update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    client.get("/accounts/login/")
    assert ProcessInstance.objects.get(pk=instance).state == "active"
