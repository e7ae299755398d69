"""Small BPMN builders and observers shared by the engine semantics tests.

A test writes the body of one process in plain BPMN (the BPMN namespace is the default one, so
``<userTask id="A"/>``), deploys it with :func:`deploy`, drives it through the public services
and asserts on what the engine wrote: the path (``activity`` history rows in order), the open
tasks, the instance row, and that an ended instance leaves no runtime rows behind.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django.utils import timezone

from workflow.models import (
    Execution,
    HistoryEvent,
    Job,
    ProcessInstance,
    Subscription,
    Task,
)
from workflow.services import definitions as deploys
from workflow.services import engine
from workflow.services import jobs as job_services

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" '
    'targetNamespace="http://example.com/bpmn">\n'
)
TAIL = "\n</definitions>\n"


def flow(source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow ``source -> target``, with the id ``source-target``."""
    flow_id = f"{source}-{target}"
    if condition is None:
        return f'<sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<conditionExpression>{condition}</conditionExpression></sequenceFlow>"
    )


def chain(*ids: str) -> str:
    """Unconditional flows joining ``ids`` one after the other."""
    return "".join(flow(a, b) for a, b in itertools.pairwise(ids))


def process(key: str, body: str, *, executable: str | None = "true") -> str:
    attribute = "" if executable is None else f' isExecutable="{executable}"'
    return f'<process id="{key}"{attribute}>{body}</process>'


def definitions(*parts: str) -> str:
    return HEAD + "".join(parts) + TAIL


def message(name: str) -> str:
    return f'<message id="Msg_{name}" name="{name}"/>'


def signal(name: str) -> str:
    return f'<signal id="Sig_{name}" name="{name}"/>'


def error(code: str) -> str:
    return f'<error id="Err_{code}" errorCode="{code}"/>'


def timer(kind: str, value: str) -> str:
    """A timer event definition; ``kind`` is timeDuration, timeDate or timeCycle."""
    return f"<timerEventDefinition><{kind}>{value}</{kind}></timerEventDefinition>"


def deploy(body: str, *, key: str = "p", extra: str = "", executable: str | None = "true") -> str:
    """Deploy one process ``key`` whose inside is ``body``; ``extra`` holds top-level messages,
    signals and errors. The key, for :func:`start`."""
    deploys.definition_deploy(
        xml=definitions(extra, process(key, body, executable=executable)),
        source_name=f"{key}.bpmn",
    )
    return key


def start(key: str = "p", **variables: Any) -> int:
    return engine.instance_start(key, variables=variables, initiator="alice")


def path(instance_id: int) -> list[str]:
    """The elements the instance left (or had cancelled), in order."""
    return list(
        HistoryEvent.objects.filter(instance_id=instance_id, kind="activity")
        .order_by("id")
        .values_list("element_id", flat=True)
    )


def history(instance_id: int, kind: str) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(instance_id=instance_id, kind=kind).order_by("id"))


def open_tasks(instance_id: int) -> list[str]:
    return sorted(
        Task.objects.filter(instance_id=instance_id, state="open").values_list(
            "element_id", flat=True
        )
    )


def task(instance_id: int, element_id: str) -> Task:
    """The one open task of ``element_id`` (fails when there is none or several)."""
    return Task.objects.get(instance_id=instance_id, element_id=element_id, state="open")


def complete(instance_id: int, element_id: str, actor: str = "alice", **data: Any) -> None:
    engine.task_complete(task(instance_id, element_id).pk, actor=actor, data=data)


def instance(instance_id: int) -> ProcessInstance:
    return ProcessInstance.objects.get(pk=instance_id)


def variables(instance_id: int) -> dict[str, Any]:
    return instance(instance_id).variables


def runtime_rows(instance_id: int) -> dict[str, int]:
    return {
        "executions": Execution.objects.filter(instance_id=instance_id).count(),
        "jobs": Job.objects.filter(instance_id=instance_id).count(),
        "subscriptions": Subscription.objects.filter(instance_id=instance_id).count(),
    }


def assert_ended(
    instance_id: int, *, state: str = "completed", end_event: str | None = None
) -> ProcessInstance:
    """The instance ended in ``state`` (at ``end_event``), its history has one start and one
    end row, and it left no token, job, subscription or open task behind."""
    ended = instance(instance_id)
    assert ended.state == state
    assert ended.ended_at is not None
    if end_event is not None:
        assert ended.end_event == end_event
    assert len(history(instance_id, "instance-start")) == 1
    [end] = history(instance_id, "instance-end")
    assert end.outcome == state
    assert end.element_id == ended.end_event
    assert runtime_rows(instance_id) == {"executions": 0, "jobs": 0, "subscriptions": 0}
    assert open_tasks(instance_id) == []
    return ended


def make_due(**filters: Any) -> int:
    """Make the jobs matching ``filters`` due now; how many."""
    return Job.objects.filter(**filters).update(
        due_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def fire_timers(instance_id: int, element_id: str | None = None) -> int:
    """Make the instance's timers (of ``element_id``) due and run the due jobs; how many ran."""
    filters: dict[str, Any] = {"instance_id": instance_id, "kind": "timer"}
    if element_id is not None:
        filters["element_id"] = element_id
    assert make_due(**filters), f"no timer job {filters}"
    return job_services.jobs_run_due()


def jobs(instance_id: int, kind: str | None = None) -> list[tuple[str, str]]:
    """(kind, element_id) of the instance's jobs."""
    found = Job.objects.filter(instance_id=instance_id)
    if kind is not None:
        found = found.filter(kind=kind)
    return sorted(found.values_list("kind", "element_id"))


def subscriptions(instance_id: int) -> list[tuple[str, str, str]]:
    """(kind, name, element_id) of the instance's subscriptions."""
    return sorted(
        Subscription.objects.filter(instance_id=instance_id).values_list(
            "kind", "name", "element_id"
        )
    )


def ends(*ids: str) -> str:
    """An end event after each of ``ids`` (the validator wants every path to end)."""
    return "".join(f'<endEvent id="{i}_end"/>' + flow(i, f"{i}_end") for i in ids)
