"""Builders and observers for the approval-action tests (tests/workflow/test_approvals_*.py).

A process is written as a chain of user tasks with the Camunda participant attributes; it is
deployed under a key, started by a persona, and driven through ``workflow.approvals``. The
observers read back what the actions wrote: tasks, history rows, notifications, copies.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import Permission
from django.utils import timezone

from portal.models import DelegationRule, Notification, Role, User
from tests.factories import role
from tests.workflow.engine_helpers import chain, definitions, flow, process
from workflow import participants
from workflow.models import (
    HistoryEvent,
    ProcessDefinition,
    ProcessInstance,
    ProcessSettings,
    Task,
)
from workflow.services import definitions as deploys
from workflow.services import engine

KEY = "leave"


def away(delegator: User, delegate: User, **rule: Any) -> DelegationRule:
    """``delegator`` is out of office from yesterday to tomorrow with ``delegate`` as their
    proxy (代理); ``rule``: the rule's other fields (e.g. ``process_keys``)."""
    now = timezone.now()
    return DelegationRule.objects.create(
        delegator=delegator,
        delegate=delegate,
        starts_at=now - datetime.timedelta(days=1),
        ends_at=now + datetime.timedelta(days=1),
        **rule,
    )


def user_task(
    element_id: str,
    *,
    assignee: str | None = None,
    users: str | None = None,
    groups: str | None = None,
    props: dict[str, str] | None = None,
    fields: str = "",
    mi: str = "",
) -> str:
    """A ``userTask`` with its participants, ``camunda:properties`` and ``formData`` fields;
    ``mi`` is the inside of ``multiInstanceLoopCharacteristics`` attributes."""
    attributes = f'id="{element_id}" name="{element_id} step"'
    if assignee is not None:
        attributes += f' camunda:assignee="{assignee}"'
    if users is not None:
        attributes += f' camunda:candidateUsers="{users}"'
    if groups is not None:
        attributes += f' camunda:candidateGroups="{groups}"'
    extension = ""
    if props:
        extension += (
            "<camunda:properties>"
            + "".join(f'<camunda:property name="{k}" value="{v}"/>' for k, v in props.items())
            + "</camunda:properties>"
        )
    if fields:
        extension += f"<camunda:formData>{fields}</camunda:formData>"
    inside = f"<extensionElements>{extension}</extensionElements>" if extension else ""
    if mi:
        inside += f"<multiInstanceLoopCharacteristics {mi}/>"
    return f"<userTask {attributes}>{inside}</userTask>"


def deploy_steps(*tasks: str, key: str = KEY, extra: str = "", start_fields: str = "") -> str:
    """Deploy ``start -> tasks... -> end`` (``extra``: more elements and flows inside;
    ``start_fields``: the start form's ``camunda:formField`` elements)."""
    ids = [t.split('id="', 1)[1].split('"', 1)[0] for t in tasks]
    start_event = '<startEvent id="start" name="Request"/>'
    if start_fields:
        start_event = (
            '<startEvent id="start" name="Request"><extensionElements><camunda:formData>'
            f"{start_fields}</camunda:formData></extensionElements></startEvent>"
        )
    body = (
        start_event + "".join(tasks) + '<endEvent id="end"/>' + chain("start", *ids, "end") + extra
    )
    deploy_body(body, key=key)
    return key


def deploy_body(body: str, *, key: str = KEY) -> int:
    """Deploy a process whose inside is ``body``; the new definition's id."""
    deploys.definition_deploy(xml=definitions(process(key, body)), source_name=f"{key}.bpmn")
    return (
        ProcessDefinition.objects.filter(key=key)
        .order_by("-version")
        .values_list("pk", flat=True)[0]
    )


def start(user: User, key: str = KEY, **variables: Any) -> int:
    return engine.instance_start(key, variables=variables, initiator=user, title="Leave 3 days")


def settings(key: str = KEY, **values: Any) -> ProcessSettings:
    """Create or change the process settings row and forget the cached copy."""
    row, _created = ProcessSettings.objects.update_or_create(key=key, defaults=values)
    participants.forget_settings()
    return row


def open_task(instance_id: int, element_id: str | None = None, **filters: Any) -> Task:
    """The one open task (of ``element_id``) of the instance."""
    found = Task.objects.filter(instance_id=instance_id, state="open", **filters)
    if element_id is not None:
        found = found.filter(element_id=element_id)
    return found.get()


def tasks(instance_id: int, element_id: str | None = None) -> list[tuple[str, str, str]]:
    """(element, assignee, state) of the instance's tasks, in creation order."""
    found = Task.objects.filter(instance_id=instance_id)
    if element_id is not None:
        found = found.filter(element_id=element_id)
    return list(found.order_by("pk").values_list("element_id", "assignee", "state"))


def live(instance_id: int) -> list[tuple[str, str, str]]:
    """(element, assignee, state) of the open, waiting and pending tasks."""
    return [t for t in tasks(instance_id) if t[2] in ("open", "waiting", "pending")]


def instance(instance_id: int) -> ProcessInstance:
    return ProcessInstance.objects.get(pk=instance_id)


def rows(instance_id: int, *kinds: str) -> list[HistoryEvent]:
    found = HistoryEvent.objects.filter(instance_id=instance_id)
    if kinds:
        found = found.filter(kind__in=kinds)
    return list(found.order_by("id"))


def completions(instance_id: int) -> list[tuple[str, str, str, str]]:
    """(element, actor, outcome, on_behalf_of) of the ``task-completed`` history rows."""
    return [
        (r.element_id, r.actor, r.outcome, r.on_behalf_of)
        for r in rows(instance_id, "task-completed")
    ]


def notes(user: User) -> list[str]:
    """The urls of ``user``'s notifications (the bell), oldest first."""
    return list(
        Notification.objects.filter(recipient=user).order_by("pk").values_list("url", flat=True)
    )


def note_keys(user: User) -> list[str | None]:
    return list(
        Notification.objects.filter(recipient=user)
        .order_by("pk")
        .values_list("dedup_key", flat=True)
    )


def task_url(task_id: int) -> str:
    return f"/workflow/tasks/{task_id}/"


def instance_url(instance_id: int) -> str:
    return f"/workflow/instances/{instance_id}/"


def make_role(code: str, *members: User) -> Role:
    found = role(code)
    for member in members:
        member.groups.add(found)
    return found


def make_admin(user: User) -> User:
    """Give ``user`` the permission ``workflow.manage_processes`` (fresh object: perms cache)."""
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="manage_processes")
    )
    return User.objects.get(pk=user.pk)


def gateway_on_approved(after: str, yes: str, no: str) -> str:
    """An exclusive gateway after ``after`` going to ``yes`` when approved, else ``no``."""
    return (
        f'<exclusiveGateway id="gw_{after}"/>'
        + flow(after, f"gw_{after}")
        + flow(f"gw_{after}", yes, "${approved}")
        + flow(f"gw_{after}", no, "${!approved}")
    )
