"""What a person may see of the workflow, and the inbox's lists (docs/approvals.md).

Every view and API endpoint starts from these querysets, so an instance or task a person
may not see is simply not found (404), never a 403 that tells it exists.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from portal.models import Department, User
from workflow import participants
from workflow.approvals import is_process_admin, return_targets
from workflow.bpmn.model import ElementKind
from workflow.bpmn.render import Highlight
from workflow.engine.cache import graph_for_definition
from workflow.models import (
    CarbonCopy,
    Delegation,
    Execution,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessInstance,
    Task,
    TaskCandidate,
    TaskState,
)

__all__ = [
    "copies_for",
    "instance_highlight",
    "instances_for",
    "instances_started",
    "return_targets",
    "task_actions",
    "task_for",
    "tasks_done",
    "tasks_todo",
]


def _candidate_task_ids(user: User) -> QuerySet[TaskCandidate, Any]:
    return TaskCandidate.objects.filter(participants.user_candidacy(user)).values("task_id")


def instances_for(user: User) -> QuerySet[ProcessInstance]:
    """The instances ``user`` may see: those they started, handle or handled (or were
    asked to, as a candidate or the absent person), were copied on; a department head
    also those started in the departments they head; a process administrator all."""
    if not user.is_active:
        return ProcessInstance.objects.none()
    if is_process_admin(user):
        return ProcessInstance.objects.all()
    name = user.username
    involved = Task.objects.filter(
        Q(assignee=name) | Q(completed_by=name) | Q(on_behalf_of=name) | Q(owner=name)
    ).values("instance_id")
    candidate = Task.objects.filter(pk__in=_candidate_task_ids(user)).values("instance_id")
    visible = (
        Q(initiator=name)
        | Q(pk__in=involved)
        | Q(pk__in=candidate)
        | Q(pk__in=CarbonCopy.objects.filter(user=user).values("instance_id"))
    )
    headed = list(Department.objects.filter(head=user).values_list("path", flat=True))
    if headed:
        scope = Q()
        for path in headed:
            scope |= Q(department__path__startswith=path)
        visible |= Q(initiator__in=User.objects.filter(scope).values("username"))
    return ProcessInstance.objects.filter(visible)


def tasks_todo(user: User) -> QuerySet[Task]:
    """待办: open tasks assigned to ``user``, and unclaimed tasks ``user`` may claim."""
    return Task.objects.filter(state=TaskState.OPEN).filter(
        Q(assignee=user.username) | Q(assignee="", pk__in=_candidate_task_ids(user))
    )


def tasks_done(user: User) -> QuerySet[Task]:
    """已办: tasks ``user`` completed."""
    return Task.objects.filter(state=TaskState.COMPLETED, completed_by=user.username)


def instances_started(user: User) -> QuerySet[ProcessInstance]:
    """我发起的."""
    return ProcessInstance.objects.filter(initiator=user.username)


def copies_for(user: User) -> QuerySet[CarbonCopy]:
    """抄送我的 (unread first is the caller's ordering to choose)."""
    return CarbonCopy.objects.filter(user=user).select_related("instance")


def task_for(user: User, task_id: int) -> Task | None:
    """A task of an instance ``user`` may see; None otherwise (a 404)."""
    return (
        Task.objects.filter(pk=task_id, instance__in=instances_for(user))
        .select_related("instance")
        .first()
    )


def task_actions(user: User, task: Task) -> set[str]:
    """The actions ``user`` may take on ``task`` now (what the task page and the API
    offer); the services check again when one is taken."""
    actions: set[str] = set()
    instance = task.instance
    running = instance.state == InstanceState.ACTIVE
    name = user.username
    if running and task.state == TaskState.OPEN:
        mine = name in (task.assignee, task.on_behalf_of) and bool(task.assignee)
        candidate = (
            not task.assignee
            and TaskCandidate.objects.filter(task=task)
            .filter(participants.user_candidacy(user))
            .exists()
        )
        if candidate:
            actions.add("claim")
        if mine and task.delegation == Delegation.PENDING:
            actions.add("resolve")
        elif mine or candidate:
            graph = graph_for_definition(instance.definition_id)
            element = graph.elements.get(task.element_id)
            start = element is not None and element.kind is ElementKind.START_EVENT
            actions |= {"approve", "transfer", "delegate", "add_signers", "copy"}
            if not start:
                actions.add("reject")
                if return_targets(task):
                    actions.add("return")
            if mine and TaskCandidate.objects.filter(task=task).exists():
                actions.add("unclaim")
    if (
        running
        and Task.objects.filter(
            added_by=task, state__in=(TaskState.OPEN, TaskState.PENDING)
        ).exists()
        and name in (task.assignee, task.completed_by)
    ):
        actions.add("remove_signer")
    if instance.state in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        if instance.initiator == name:
            actions |= {"cancel", "urge"}
        if is_process_admin(user):
            actions |= {"suspend" if running else "resume", "terminate", "move", "reassign"}
    return actions


def instance_highlight(instance: ProcessInstance) -> Highlight:
    """What to paint on the instance's diagram: where its tokens wait, what it passed,
    where it failed (an open incident)."""
    active = Execution.objects.filter(instance=instance).values_list("element_id", flat=True)
    passed = HistoryEvent.objects.filter(instance_id=instance.pk, kind="activity").values_list(
        "element_id", flat=True
    )
    failed = Incident.objects.filter(instance=instance, resolved_at__isnull=True).values_list(
        "element_id", flat=True
    )
    return Highlight(
        active=frozenset(active), completed=frozenset(passed), failed=frozenset(failed)
    )
