"""Where an instance stands (the steps it waits at and who holds them), what its diagram
shows (waiting, passed, failed steps), and what the task and instance pages show of it: the
history as people read it, the business data by label, open incidents, attachments.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from workflow.bpmn.model import Element, ElementKind, FormField
from workflow.bpmn.render import Highlight, RenderError, render_svg
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.models import (
    LIVE_TASK_STATES,
    Attachment,
    Comment,
    Execution,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessInstance,
    Task,
)
from workflow.previews import preview_kind
from workflow.selectors import timeline as timelines
from workflow.selectors import visibility
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
        task.instance = by_pk[task.instance_id]  # the page reads it (my tasks): no query each
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


# --- what the task and instance pages show ------------------------------------------------


# --- reads for the pages ---------------------------------------------------------------------


def display_name(username: str) -> str:
    return display_names([username]).get(username, username)


OUTCOMES: dict[str, Any] = {
    "approved": gettext_lazy("approved"),
    "submitted": gettext_lazy("submitted"),
    "completed": gettext_lazy("completed"),
    "rejected": gettext_lazy("rejected"),
    "returned": gettext_lazy("returned"),
    "auto-approved": gettext_lazy("approved automatically"),
    "auto-rejected": gettext_lazy("rejected automatically"),
    "skipped": gettext_lazy("skipped automatically"),
}
KINDS: dict[str, Any] = {
    "instance-start": gettext_lazy("started the request"),
    "task-claimed": gettext_lazy("took the task"),
    "task-unclaimed": gettext_lazy("gave the task back to its candidates"),
    "task-transferred": gettext_lazy("transferred the task"),
    "task-delegated": gettext_lazy("delegated the task"),
    "task-resolved": gettext_lazy("handed the task back"),
    "task-reassigned": gettext_lazy("reassigned the task"),
    "task-escalated": gettext_lazy("the task was escalated"),
    "signer-added": gettext_lazy("added signers"),
    "signer-removed": gettext_lazy("removed a signer"),
    "copied": gettext_lazy("copied people in"),
    "urged": gettext_lazy("urged the handlers"),
    "withdrawn": gettext_lazy("withdrew the step"),
    "instance-cancelled": gettext_lazy("cancelled the request"),
    "instance-suspended": gettext_lazy("suspended the process"),
    "instance-resumed": gettext_lazy("resumed the process"),
    "instance-terminated": gettext_lazy("terminated the process"),
    "instance-moved": gettext_lazy("moved the process to this step"),
    "instance-migrated": gettext_lazy("moved the process to another version"),
    "incident": gettext_lazy("an error stopped this step"),
    "incident-retried": gettext_lazy("retried the failed step"),
    "instance-end": gettext_lazy("the process ended"),
}
TONES = {
    "approved": "ok",
    "submitted": "ok",
    "completed": "ok",
    "auto-approved": "ok",
    "skipped": "ok",
    "rejected": "bad",
    "auto-rejected": "bad",
    "returned": "warn",
    "incident": "bad",
    "instance-cancelled": "warn",
    "instance-terminated": "bad",
    "withdrawn": "warn",
}


@dataclass
class Entry:
    """One line of the history timeline."""

    at: datetime.datetime
    who: str
    label: str
    step: str = ""
    behalf: str = ""
    text: str = ""
    people: list[str] = field(default_factory=list)
    tone: str = ""
    is_comment: bool = False


def step_name(graph: Graph, element_id: str) -> str:
    element = graph.elements.get(element_id)
    return (element.name or element_id) if element is not None else element_id


def _targets_of(row: HistoryEvent) -> list[str]:
    data = row.data or {}
    found: list[str] = []
    for key in ("to", "signers", "signer"):
        value = data.get(key)
        if isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    return found


def timeline(instance: ProcessInstance, graph: Graph) -> list[Entry]:
    """The instance's history as people read it (who, when, step, outcome, comment, on
    behalf of whom), with the comments written on it, oldest first. Engine bookkeeping
    (activity ends, task creation) is left out."""
    rows = list(
        HistoryEvent.objects.filter(instance_id=instance.pk)
        .exclude(kind__in=("activity", "task-created"))
        .order_by("at", "id")
    )
    comments = list(
        Comment.objects.filter(instance=instance).select_related("author", "task").order_by("pk")
    )
    people: list[str] = []
    for row in rows:
        people += [row.actor, row.on_behalf_of]
        if row.kind != "task-completed":
            people += _targets_of(row)
    names = display_names(people)
    entries: list[Entry] = []
    for row in rows:
        data = row.data or {}
        if row.kind == "task-completed":
            label = OUTCOMES.get(row.outcome, row.outcome)
            tone = TONES.get(row.outcome, "")
            targets: list[str] = []
            if row.outcome == "returned" and data.get("to"):
                to = data["to"]
                targets = [
                    str(gettext_lazy("the initiator"))
                    if to == "initiator"
                    else step_name(graph, to)
                ]
        elif row.kind == "instance-end":
            label = KINDS["instance-end"]
            if row.outcome in InstanceState.values:
                label = f"{label}: {InstanceState(row.outcome).label}"
            tone = "ok" if row.outcome == InstanceState.COMPLETED else ""
            targets = []
        else:
            label = KINDS.get(row.kind, row.kind)
            tone = TONES.get(row.kind, "")
            targets = [names.get(n, n) for n in _targets_of(row)]
        text = str(data.get("comment") or data.get("reason") or data.get("message") or "")
        who = names.get(row.actor, row.actor) if row.actor else ""
        if not who and row.kind in ("task-completed", "task-escalated"):
            who = str(gettext_lazy("System"))
        entries.append(
            Entry(
                at=row.at,
                who=who,
                label=str(label),
                step=step_name(graph, row.element_id) if row.element_id else "",
                behalf=names.get(row.on_behalf_of, "") if row.on_behalf_of else "",
                text=text,
                people=targets,
                tone=tone,
            )
        )
    for comment in comments:
        entries.append(
            Entry(
                at=comment.created_at,
                who=comment.author.display_name,
                label=str(gettext_lazy("commented")),
                step=(comment.task.name or comment.task.element_id) if comment.task else "",
                text=comment.text,
                is_comment=True,
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


def _declared_fields(graph: Graph) -> dict[str, tuple[str, FormField]]:
    """Each form field the process declares -> (its label, the field). A label that two
    fields share (审批意见 on every approval step) is prefixed with its step's name."""
    declared: dict[str, tuple[Element, FormField]] = {}
    for element in graph.elements.values():
        for form_field in element.form_fields:
            declared.setdefault(form_field.id, (element, form_field))
    count = Counter(f.label or name for name, (_e, f) in declared.items())
    labelled: dict[str, tuple[str, FormField]] = {}
    for name, (element, form_field) in declared.items():
        label = form_field.label or name
        if count[label] > 1 and element.kind is not ElementKind.START_EVENT:
            label = f"{element.name or element.id} · {label}"
        labelled[name] = (label, form_field)
    return labelled


def _format(value: Any, form_field: FormField | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(gettext_lazy("Yes") if value else gettext_lazy("No"))
    if form_field is not None and form_field.enum_values:
        names = dict(form_field.enum_values)
        if isinstance(value, str) and value in names:
            return names[value]
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "、".join(_format(v, None) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v, None)}" for k, v in value.items())
    return str(value)


def business_data(instance: ProcessInstance, graph: Graph, user: User) -> list[tuple[str, str]]:
    """The instance's variables a person may see, as (label, formatted value): those the
    process's forms declare, with their labels; a process administrator also the others.
    The private ``_``-prefixed markers of the engine are never shown."""
    declared = _declared_fields(graph)
    admin = visibility.is_process_admin(user)
    shown: list[tuple[str, str]] = []
    variables = instance.variables or {}
    for name, (label, form_field) in declared.items():
        if name in variables and not name.startswith("_"):
            shown.append((label, _format(variables[name], form_field)))
    if admin:
        for name, value in sorted(variables.items()):
            if name not in declared and not name.startswith("_"):
                shown.append((name, _format(value, None)))
    return shown


def diagram_svg(instance: ProcessInstance, graph: Graph) -> str | None:
    """The instance's diagram with its state painted on it; None when the file has none."""
    try:
        return render_svg(
            graph.definitions,
            highlight=timelines.instance_highlight(instance),
            title=instance.title or None,
        )
    except RenderError:
        return None


def incidents(instance: ProcessInstance, graph: Graph) -> list[tuple[str, str]]:
    """Open incidents as (step name, message): the step people know, not the element id."""
    return [
        (step_name(graph, i.element_id) if i.element_id else _("The process"), i.message)
        for i in Incident.objects.filter(instance=instance, resolved_at__isnull=True).order_by(
            "created_at"
        )
    ]


def attachments_of(instance: ProcessInstance) -> list[Attachment]:
    found = list(
        Attachment.objects.filter(instance=instance)
        .select_related("uploaded_by", "task")
        .order_by("created_at", "pk")
    )
    for attachment in found:
        attachment.preview_kind = preview_kind(attachment)  # type: ignore[attr-defined]
    return found
