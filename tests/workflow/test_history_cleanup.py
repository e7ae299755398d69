"""History time-to-live: ended instances older than their definition's historyTimeToLive go,
with their tasks and history; running ones and younger ones stay."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from workflow.bpmn.model import BpmnError
from workflow.models import Attachment, HistoryEvent, ProcessInstance, Task
from workflow.services import approvals, definitions, engine, history
from workflow.tasks import cleanup_history

pytestmark = pytest.mark.django_db


PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="ttl" isExecutable="true" camunda:historyTimeToLive="P30D">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="approve" camunda:assignee="boss"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _finished(days_ago: int) -> int:
    instance = engine.instance_start("ttl", initiator="emp")
    task = Task.objects.get(instance_id=instance)
    engine.task_complete(task.pk, actor="boss")
    ProcessInstance.objects.filter(pk=instance).update(
        ended_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return instance


@pytest.mark.parametrize("ttl", ["P30D", "30", " 30 "])
def test_cleanup_removes_only_instances_ended_longer_ago_than_the_ttl(ttl: str) -> None:
    """A bare number is days, as Camunda Modeler writes it."""
    definitions.definition_deploy(xml=PROCESS.replace('"P30D"', f'"{ttl}"'))
    old = _finished(31)
    young = _finished(29)
    running = engine.instance_start("ttl", initiator="emp")
    assert cleanup_history() == 1
    assert not ProcessInstance.objects.filter(pk=old).exists()
    assert not HistoryEvent.objects.filter(instance_id=old).exists()
    assert not Task.objects.filter(instance_id=old).exists()
    for kept in (young, running):
        assert ProcessInstance.objects.filter(pk=kept).exists()
        assert HistoryEvent.objects.filter(instance_id=kept).exists()
    assert history.history_cleanup() == 0  # nothing left to remove


@pytest.mark.parametrize("ttl", ["thirty days", "30.5", "-30", "P"])
def test_a_time_to_live_that_is_no_duration_is_refused_at_deploy(ttl: str) -> None:
    with pytest.raises(BpmnError) as refused:
        definitions.definition_deploy(xml=PROCESS.replace('"P30D"', f'"{ttl}"'))
    assert any("historyTimeToLive" in problem.message for problem in refused.value.problems)


def test_cleanup_deletes_the_attachments_files_too(
    employee, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_ROOT = tmp_path
    definitions.definition_deploy(xml=PROCESS)
    instance = engine.instance_start("ttl", initiator=employee.username)
    attachment = approvals.attachment_add(
        instance, user=employee, upload=SimpleUploadedFile("receipt.pdf", b"%PDF-1.4\n%%EOF\n")
    )
    stored = Path(attachment.file.path)
    assert stored.exists()
    engine.task_complete(Task.objects.get(instance_id=instance).pk, actor="boss")
    ProcessInstance.objects.filter(pk=instance).update(
        ended_at=timezone.now() - datetime.timedelta(days=31)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert history.history_cleanup() == 1
    assert not Attachment.objects.exists()
    assert not stored.exists()


def test_the_hourly_cleanup_also_deletes_expired_held_uploads(employee: Any) -> None:
    """A file held for a form that failed validation lives a day; the hourly task deletes
    what is older (workflow/services/pending_uploads.py)."""
    from workflow.services import pending_uploads

    kept = pending_uploads.upload_hold(
        user=employee, upload=SimpleUploadedFile("报价单.pdf", b"%PDF-1.4\n%%EOF\n")
    )
    assert default_storage.exists(kept.path)
    assert cleanup_history() == 0  # today's file stays
    later = timezone.localdate() + datetime.timedelta(days=3)
    assert pending_uploads.pending_uploads_cleanup(now=later) == 1
    assert not default_storage.exists(kept.path)
