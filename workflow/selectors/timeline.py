"""Where an instance stands (the steps it waits at and who holds them) and what its diagram
shows (waiting, passed, failed steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from workflow.bpmn.model import ElementKind
from workflow.bpmn.render import Highlight
from workflow.engine.cache import graph_for_definition
from workflow.models import (
    LIVE_TASK_STATES,
    Execution,
    HistoryEvent,
    Incident,
    ProcessInstance,
    Task,
)
from workflow.selectors.visibility import candidate_labels, display_names


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


@dataclass
class Holder:
    """One step an instance stands at: the step's name and who can act there now — the
    task's holder, else the people, roles and departments it is offered to, by name; none
    for a step that waits on the system (a service call, a timer)."""

    step: str
    people: list[str] = field(default_factory=list)
    task: Task | None = None  # the open task (None: waiting elsewhere)
    state: str = ""  # the task's state as people read it
    overdue: bool = False


def current_steps(instances: Sequence[ProcessInstance]) -> dict[int, list[Holder]]:
    """Where each of ``instances`` (a page of them) stands now: a :class:`Holder` per open or
    waiting task, in the order they arrived, then each step it waits at without a task.
    The inbox, the console and the instance page show this; a few queries for a page."""
    by_pk = {i.pk: i for i in instances}
    result: dict[int, list[Holder]] = {pk: [] for pk in by_pk}
    tasks = list(
        Task.objects.filter(instance_id__in=list(by_pk), state__in=LIVE_TASK_STATES)
        .prefetch_related("candidates")
        .order_by("created_at", "pk")
    )
    names = display_names(t.assignee for t in tasks if t.assignee)
    labels = candidate_labels((c.kind, c.value) for t in tasks for c in t.candidates.all())
    now = timezone.now()
    at_task: set[tuple[int, str]] = set()
    for task in tasks:
        if task.assignee:
            people = [names.get(task.assignee, task.assignee)]
        else:
            people = [labels[(c.kind, c.value)] for c in task.candidates.all()]
        result[task.instance_id].append(
            Holder(
                step=task.name or task.element_id,
                people=people,
                task=task,
                state=task.get_state_display(),
                overdue=bool(task.due_at and task.due_at < now),
            )
        )
        at_task.add((task.instance_id, task.element_id))
    waiting = (
        Execution.objects.filter(instance_id__in=list(by_pk))
        .exclude(state="scope")
        .values_list("instance_id", "element_id")
    )
    for instance_id, element_id in waiting:
        if (instance_id, element_id) in at_task:
            continue
        graph = graph_for_definition(by_pk[instance_id].definition_id)
        element = graph.elements.get(element_id)
        if element is None or element.kind is ElementKind.USER_TASK:
            continue
        at_task.add((instance_id, element_id))
        result[instance_id].append(Holder(step=element.name or element_id))
    return result
