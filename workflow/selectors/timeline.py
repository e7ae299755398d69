"""Where an instance stands (the steps it waits at and who holds them), what its diagram
shows (waiting, passed, failed steps), and what the task and instance pages show of it: the
history as people read it, the business data by label, open incidents, attachments.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.models import User
from workflow import translation
from workflow.bpmn.model import Element, ElementKind, FormField
from workflow.bpmn.render import Highlight, RenderError, render_svg
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.forms import PEOPLE, PERSON, display_value
from workflow.models import (
    LIVE_TASK_STATES,
    Attachment,
    Comment,
    Execution,
    HistoryEvent,
    InstanceState,
    ProcessInstance,
    Task,
    TaskCandidate,
    TaskState,
)
from workflow.previews import preview_kind
from workflow.selectors import timeline as timelines
from workflow.selectors import visibility
from workflow.selectors.chain import (
    ChainPreview,
    Person,
    avatar_text,
    candidate_people,
    chain_ahead,
    countersign_label,
    people_of,
)
from workflow.selectors.instance_reads import InstanceReads
from workflow.selectors.status import incident_text, status_of
from workflow.selectors.visibility import candidate_labels, display_names


def instance_highlight(instance: ProcessInstance, reads: InstanceReads | None = None) -> Highlight:
    """What to paint on the instance's diagram: where its tokens wait, what it passed,
    where it failed (an open incident). ``reads``: the page's reads of the instance, else
    read here."""
    reads = reads or InstanceReads(instance)
    return Highlight(
        active=reads.waiting,
        completed=frozenset(
            event.element_id for event in reads.history if event.kind == "activity"
        ),
        # an incident of the whole process has no element
        failed=frozenset(incident.element_id for incident in reads.open_incidents),
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


def current_steps(
    instances: Sequence[ProcessInstance],
    *,
    named: dict[str, str] | None = None,
    reads: InstanceReads | None = None,
) -> dict[int, list[Holder]]:
    """Where each of ``instances`` (a page of them) stands now: a :class:`Holder` per open or
    waiting task, in the order they arrived, then each step it waits at without a task.
    The inbox, the console and the instance page show this; a few queries for a page.
    ``named``: user names whose display names the caller needs too (the keys; their
    values are replaced): read with the holders' in one query, filled in on return.
    ``reads``: the page's reads of its one instance (its tasks and tokens, not read again)."""
    by_pk = {i.pk: i for i in instances}
    result: dict[int, list[Holder]] = {pk: [] for pk in by_pk}
    waiting: Iterable[tuple[int, str]]
    if reads is not None:
        tasks = sorted(
            (task for task in reads.tasks if task.state in LIVE_TASK_STATES),
            key=lambda task: (task.created_at, task.pk),
        )
        pk = reads.instance.pk
        waiting = [(pk, element) for element, state in reads.executions if state != "scope"]
    else:
        tasks = list(
            Task.objects.filter(instance_id__in=list(by_pk), state__in=LIVE_TASK_STATES).order_by(
                "created_at", "pk"
            )
        )
        waiting = (
            Execution.objects.filter(instance_id__in=list(by_pk))
            .exclude(state="scope")
            .values_list("instance_id", "element_id")
        )
    # the candidates of the tasks nobody holds (a query only when there are some)
    prefetch_related_objects([t for t in tasks if not t.assignee], "candidates")
    wanted = {t.assignee for t in tasks if t.assignee}
    if named is not None:
        wanted |= set(named)
    names = display_names(wanted)
    if named is not None:
        named.update({name: names.get(name, name) for name in named})
    labels = candidate_labels(
        (c.kind, c.value) for t in tasks if not t.assignee for c in t.candidates.all()
    )
    now = timezone.now()
    at_task: set[tuple[int, str]] = set()
    # each state's label translated once, not once a task (get_state_display)
    state_labels = {value: str(label) for value, label in TaskState.choices}
    for task in tasks:
        task.instance = by_pk[task.instance_id]  # the page reads it (my tasks): no query each
        if task.assignee:
            people = [names.get(task.assignee, task.assignee)]
        else:
            people = [labels[(c.kind, c.value)] for c in task.candidates.all()]
        result[task.instance_id].append(
            Holder(
                step=translation.step_name(task.definition_key, task.element_id, task.name),
                people=people,
                task=task,
                state=state_labels.get(task.state, task.state),
                overdue=bool(task.due_at and task.due_at < now),
            )
        )
        at_task.add((task.instance_id, task.element_id))
    for instance_id, element_id in waiting:
        if (instance_id, element_id) in at_task:
            continue
        graph = graph_for_definition(by_pk[instance_id].definition_id)
        element = graph.elements.get(element_id)
        if element is None or element.kind is ElementKind.USER_TASK:
            continue
        at_task.add((instance_id, element_id))
        result[instance_id].append(
            Holder(step=translation.step_name(graph.key, element_id, element.name))
        )
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
    # a time-out decided the step (not a repeated approver's step passing by itself)
    "timeout-approved": gettext_lazy("approved automatically on time-out"),
    "timeout-rejected": gettext_lazy("rejected automatically on time-out"),
    # 已办: a task handed on without deciding it
    "transferred": gettext_lazy("transferred"),
    "delegated": gettext_lazy("delegated"),
    "resolved": gettext_lazy("handed back"),
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
    "system-event": gettext_lazy("another system reported"),
    # what the engine records for itself, in words where a list shows every row
    "task-created": gettext_lazy("the task arrived"),
    "task-cancelled": gettext_lazy("the task was no longer needed"),
    "activity": gettext_lazy("the step was passed"),
}


def event_words(kind: str) -> str:
    """A history row's kind (``HistoryEvent.kind``) as people read it, never the raw kind:
    one the words above lack (a kind added later) reads as "something happened"."""
    return str(KINDS.get(kind) or STEP_EVENTS.get(kind) or gettext_lazy("something happened"))


def system_event_text(data: dict[str, Any]) -> str:
    """What an outside system reported on a request (``instance_system_event``), in the
    reader's language: the stored text is a message of the catalogue with ``%(name)s``
    placeholders filled from the row's data; a text the catalogue lacks (the ERP's own
    message) reads as it is, and so does one whose placeholders the data do not fill."""
    text = str(data.get("text") or "")
    if not text:
        return ""
    words = _(text)
    if "%(" not in words:
        return words
    try:
        return words % data
    except (KeyError, TypeError, ValueError):
        return text


SYSTEM_EVENT_TONES = {"refused": "bad", "failed": "bad"}
"""An outside system's events that read as a failure; the others went well."""


def system_event_tone(event: str) -> str:
    return SYSTEM_EVENT_TONES.get(event, "ok")


TONES = {
    "approved": "ok",
    "submitted": "ok",
    "completed": "ok",
    "auto-approved": "ok",
    "skipped": "ok",
    "timeout-approved": "ok",
    "timeout-rejected": "bad",
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
    """A step's name in the reader's language (``workflow.translation``)."""
    element = graph.elements.get(element_id)
    name = (element.name or element_id) if element is not None else element_id
    return translation.step_name(graph.key, element_id, name)


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


def _entry_text(row: HistoryEvent) -> str:
    """The words under a history line: the comment or reason given, an error in words, or
    what another system reported."""
    data = row.data or {}
    if row.kind == "system-event":
        return system_event_text(data)
    text = str(data.get("comment") or data.get("reason") or data.get("message") or "")
    return incident_text(text).words if row.kind == "incident" else text


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
        elif row.kind == "system-event":
            label = str(data.get("system") or KINDS["system-event"])
            tone = system_event_tone(row.outcome)
            targets = []
        elif row.kind == "instance-end":
            label = KINDS["instance-end"]
            if row.outcome in InstanceState.values:
                label = f"{label}: {InstanceState(row.outcome).label}"
            tone = "ok" if row.outcome == InstanceState.COMPLETED else ""
            targets = []
        else:
            label = event_words(row.kind)
            tone = TONES.get(row.kind, "")
            targets = [names.get(n, n) for n in _targets_of(row)]
        text = _entry_text(row)
        who = names.get(row.actor, row.actor) if row.actor else ""
        if not who and row.kind in ("task-completed", "task-escalated", "copied"):
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
        label = translation.field_label(graph.key, name, form_field.label or name)
        if count[form_field.label or name] > 1 and element.kind is not ElementKind.START_EVENT:
            label = f"{step_name(graph, element.id)} · {label}"
        labelled[name] = (label, form_field)
    return labelled


def _format(value: Any, form_field: FormField | None) -> str:
    """What people read for a stored value: the forms' one display function (amounts as
    12,345.60, people and departments by name, options by name)."""
    return display_value(form_field, value)


def people_in_data(instance: ProcessInstance, graph: Graph) -> list[str]:
    """The user names the request's data holds in its person fields (what
    :func:`business_data` shows by name), for a page that reads its people at once."""
    variables = instance.variables or {}
    found: list[str] = []
    for element in graph.elements.values():
        for form_field in element.form_fields:
            value = variables.get(form_field.id)
            if value and form_field.type.strip().lower() in (PERSON, PEOPLE):
                found += [str(v) for v in (value if isinstance(value, list) else [value])]
    return found


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
            value = variables[name]
            options = dict(form_field.enum_values)
            if isinstance(value, str) and value in options:
                text = translation.option_label(graph.key, name, value, options[value])
            else:
                text = _format(value, form_field)
            shown.append((label, text))
    if admin:
        for name, value in sorted(variables.items()):
            if name not in declared and not name.startswith("_"):
                shown.append((name, _format(value, None)))
    return shown


def diagram_svg(
    instance: ProcessInstance, graph: Graph, reads: InstanceReads | None = None
) -> str | None:
    """The instance's diagram with its state painted on it; None when the file has none."""
    try:
        return render_svg(
            graph.definitions,
            highlight=timelines.instance_highlight(instance, reads),
            title=instance.title or None,
        )
    except RenderError:
        return None


def incidents(
    instance: ProcessInstance, graph: Graph, reads: InstanceReads | None = None
) -> list[tuple[str, str]]:
    """Open incidents as (step name, message): the step people know, not the element id."""
    return [
        (step_name(graph, i.element_id) if i.element_id else _("The process"), i.message)
        for i in (reads or InstanceReads(instance)).open_incidents
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


# --- the approval timeline (审批流程) ---------------------------------------------------------

TIMELINE_HIDDEN = ("activity", "task-created", "task-claimed", "task-unclaimed")
"""History rows the timeline leaves out: the engine's bookkeeping, and taking a task (a role's
task is taken by whoever acts on it first; people never see a separate "claim")."""

STEP_ROWS = (
    "task-completed",
    "task-cancelled",
    "task-transferred",
    "task-delegated",
    "task-resolved",
    "task-reassigned",
    "task-escalated",
    "signer-added",
    "signer-removed",
)
"""History rows that belong to a step: consecutive ones of one step make one node."""

DECISIONS: dict[str, Any] = {
    "approved": gettext_lazy("Approved"),
    "submitted": gettext_lazy("Submitted"),
    "completed": gettext_lazy("Completed"),
    "rejected": gettext_lazy("Rejected"),
    "returned": gettext_lazy("Returned"),
    "auto-approved": gettext_lazy("Passed automatically"),
    "auto-rejected": gettext_lazy("Rejected automatically"),
    "skipped": gettext_lazy("Passed automatically"),
    "timeout-approved": gettext_lazy("Approved automatically on time-out"),
    "timeout-rejected": gettext_lazy("Rejected automatically on time-out"),
}
"""A step's outcome as the timeline states it (已同意, 已驳回, 已退回 ...)."""

STEP_EVENTS: dict[str, Any] = {
    "task-cancelled": gettext_lazy("No longer needed"),
    "task-transferred": gettext_lazy("Transferred"),
    "task-delegated": gettext_lazy("Delegated"),
    "task-resolved": gettext_lazy("Handed back"),
    "task-reassigned": gettext_lazy("Reassigned"),
    "task-escalated": gettext_lazy("Escalated"),
    "signer-added": gettext_lazy("Added signers"),
    "signer-removed": gettext_lazy("Removed a signer"),
}


WAITING_STATES: dict[str, Any] = {
    TaskState.OPEN: gettext_lazy("In progress"),
    TaskState.WAITING: gettext_lazy("Waiting for added signers"),  # 加签 before them
    TaskState.PENDING: gettext_lazy("Waiting for the signer before"),  # 加签 after someone
}
"""A waiting task's holder's state as the timeline states it (处理中 ...)."""


@dataclass
class Mark:
    """One person's part in a timeline node: who, what they did (or have to do), when, their
    opinion (审批意见) and signature."""

    state: str
    person: Person | None = None  # None: the system
    tone: str = ""  # ok | bad | warn | now | ""
    at: datetime.datetime | None = None
    comment: str = ""
    signature_url: str = ""
    behalf: str = ""  # the absent person's name
    to: list[str] = field(default_factory=list)  # transferred / added / copied to
    note: str = ""


@dataclass
class Node:
    """One node of the vertical timeline. ``kind``: start (the submission), step (a step
    that has been acted on), now (a step waiting for people), ahead (a step still to come,
    greyed), cc, comment, event (an administrator's or the system's action), end."""

    kind: str
    title: str
    element_id: str = ""
    tone: str = ""
    marks: list[Mark] = field(default_factory=list)
    waiting: list[Person] = field(default_factory=list)  # who can act on a step that waits
    waiting_label: str = ""
    note: str = ""
    mode: str = ""
    task: Task | None = None  # the open task of a step that waits for one person
    overdue: bool = False
    at: datetime.datetime | None = None


@dataclass
class Timeline:
    nodes: list[Node]
    ahead_note: str = ""  # why the steps ahead stop where they do


def _signature_url(task_id: int | None, signed: set[int]) -> str:
    if task_id is None or task_id not in signed:
        return ""
    return reverse("workflow:task-signature", args=[task_id])


class _TimelineBuilder:
    """Builds a :class:`Timeline` from a handful of queries (history rows, comments, the
    instance's tasks, the live tasks' candidates and the people they stand for, everybody's
    names in one go)."""

    def __init__(
        self, instance: ProcessInstance, graph: Graph, reads: InstanceReads | None = None
    ) -> None:
        self.instance = instance
        self.graph = graph
        reads = reads or InstanceReads(instance)
        self.rows = [event for event in reads.history if event.kind not in TIMELINE_HIDDEN]
        self.comments = list(
            Comment.objects.filter(instance=instance)
            .select_related("author", "task")
            .order_by("created_at", "pk")
        )
        tasks = reads.tasks
        self.tasks = {t.pk: t for t in tasks}
        for task in self.tasks.values():
            task.instance = instance  # the template may read it: no query
        self.live = sorted(
            (t for t in self.tasks.values() if t.state in LIVE_TASK_STATES),
            key=lambda t: (t.created_at, t.pk),
        )
        self.candidates: dict[int, list[tuple[str, str]]] = {}
        offered = [t.pk for t in self.live if not t.assignee]  # a role's or a department's
        if offered:
            for task_id, kind, value in TaskCandidate.objects.filter(
                task_id__in=offered
            ).values_list("task_id", "kind", "value"):
                self.candidates.setdefault(task_id, []).append((kind, value))
        self.signed = {pk for pk, t in self.tasks.items() if t.signature}

    def step_mode(self, element_id: str) -> str:
        element = self.graph.elements.get(element_id)
        return countersign_label(element) if element is not None else ""

    def step_title(self, element_id: str) -> str:
        element = self.graph.elements.get(element_id)
        default = element.name if element is not None and element.name else ""
        if not default:
            return str(gettext_lazy("A step"))
        return translation.step_name(self.instance.definition_key, element_id, default)

    def build(self, ahead: ChainPreview | None) -> Timeline:
        usernames: set[str] = {self.instance.initiator}
        for row in self.rows:
            usernames |= {row.actor, row.on_behalf_of, *_targets_of(row)}
        for task in self.tasks.values():
            usernames |= {task.assignee, task.on_behalf_of}
        waiting_people = candidate_people(p for pairs in self.candidates.values() for p in pairs)
        for found in waiting_people.values():
            usernames |= set(found)
        people = people_of(usernames)
        self.people = people
        nodes = self.history_nodes()
        for waiting in self.waiting_nodes(waiting_people):
            last = nodes[-1] if nodes else None
            if last is not None and last.kind == "step" and last.element_id == waiting.element_id:
                # the same step still waits (a countersign's other votes, a transfer's new
                # holder): one node with what was done and who is still to act
                last.kind, last.tone, last.task = "now", "now", waiting.task
                last.marks += waiting.marks
                last.waiting, last.waiting_label = waiting.waiting, waiting.waiting_label
                last.overdue, last.note = waiting.overdue, waiting.note
            else:
                nodes.append(waiting)
        timeline = Timeline(nodes)
        if ahead is not None:
            for step in ahead.steps:
                nodes.append(
                    Node(
                        kind="ahead",
                        title=step.name,
                        element_id=step.element_id,
                        waiting=step.people,
                        note=step.note,
                        mode=step.mode_label,
                        tone="cc" if step.kind == "cc" else "",
                    )
                )
            timeline.ahead_note = ahead.waiting_for
        if self.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
            status = status_of(self.instance)
            end = Node(kind="end", title=status.label, tone=status.code, at=self.instance.ended_at)
            nodes.append(end)
        return timeline

    def person(self, username: str) -> Person | None:
        return self.people.get(username) if username else None

    def history_nodes(self) -> list[Node]:
        events: list[tuple[datetime.datetime, int, HistoryEvent | Comment]] = [
            (row.at, 0, row) for row in self.rows
        ] + [(c.created_at, 1, c) for c in self.comments]
        events.sort(key=lambda e: (e[0], e[1]))
        nodes: list[Node] = []
        for _at, _order, item in events:
            if isinstance(item, Comment):
                nodes.append(self.comment_node(item))
                continue
            row = item
            if row.kind in STEP_ROWS and row.element_id:
                mark = self.step_mark(row)
                last = nodes[-1] if nodes else None
                if last is not None and last.kind == "step" and last.element_id == row.element_id:
                    last.marks.append(mark)
                    last.tone = mark.tone or last.tone
                    last.at = row.at
                else:
                    nodes.append(
                        Node(
                            kind="step",
                            title=self.step_title(row.element_id),
                            mode=self.step_mode(row.element_id),
                            element_id=row.element_id,
                            tone=mark.tone,
                            marks=[mark],
                            at=row.at,
                        )
                    )
                continue
            node = self.event_node(row)
            if node is not None:
                nodes.append(node)
        return nodes

    def step_mark(self, row: HistoryEvent) -> Mark:
        data = row.data or {}
        comment = str(data.get("comment") or data.get("reason") or "")
        task = self.tasks.get(row.task_id) if row.task_id else None
        if row.kind == "task-completed":
            mark = Mark(
                state=str(DECISIONS.get(row.outcome, OUTCOMES.get(row.outcome, row.outcome))),
                person=self.person(row.actor),
                tone=TONES.get(row.outcome, "ok"),
                at=row.at,
                comment=comment,
                signature_url=_signature_url(row.task_id, self.signed),
                behalf=self.name_of(row.on_behalf_of),
            )
            if not row.actor and row.outcome in ("skipped", "auto-approved"):
                # a step that passed by itself: whose step it was, and why it passed
                assignee = str(data.get("assignee") or "")
                mark.person = self.person(assignee)
                if row.outcome == "auto-approved":
                    mark.note = str(gettext_lazy("The same person approved the step before."))
                elif assignee and assignee == self.instance.initiator:
                    mark.note = str(gettext_lazy("Nobody approves their own request."))
                else:
                    mark.note = str(gettext_lazy("Nobody could handle this step."))
            if row.outcome == "returned" and data.get("to"):
                to = str(data["to"])
                mark.to = [
                    str(gettext_lazy("the initiator")) if to == "initiator" else self.step_title(to)
                ]
            return mark
        if row.kind == "task-cancelled":
            holder = task.assignee if task is not None else ""
            return Mark(
                state=str(STEP_EVENTS[row.kind]),
                person=self.person(holder),
                at=row.at,
                tone="muted",
            )
        return Mark(
            state=str(STEP_EVENTS.get(row.kind, KINDS.get(row.kind, ""))),
            person=self.person(row.actor),
            at=row.at,
            comment=comment,
            behalf=self.name_of(row.on_behalf_of),
            to=[self.name_of(n) for n in _targets_of(row)],
            tone="warn" if row.kind == "task-escalated" else "",
        )

    def name_of(self, username: str) -> str:
        person = self.person(username)
        return person.name if person is not None else username

    def event_node(self, row: HistoryEvent) -> Node | None:
        data = row.data or {}
        text = str(data.get("comment") or data.get("reason") or data.get("message") or "")
        if row.kind == "incident":
            text = incident_text(text).words  # the error itself is for administrators
        who = self.person(row.actor)
        if row.kind == "instance-start":
            return Node(
                kind="start",
                title=str(gettext_lazy("Submitted")),
                marks=[Mark(state=str(gettext_lazy("Submitted")), person=who, at=row.at)],
                tone="ok",
                at=row.at,
            )
        if row.kind == "instance-end":
            return None  # the end node closes the timeline, with the request's status
        if row.kind == "system-event":
            # "ERP: 已过账，凭证号 JV202612000001" — the system's name, then what it did
            tone = system_event_tone(row.outcome)
            return Node(
                kind="event",
                title=str(data.get("system") or KINDS["system-event"]),
                marks=[Mark(state=system_event_text(data), at=row.at, tone=tone)],
                tone=tone,
                at=row.at,
            )
        if row.kind == "copied":
            return Node(
                kind="cc",
                title=str(gettext_lazy("CC")),
                marks=[
                    Mark(
                        state=str(KINDS["copied"] if who else gettext_lazy("Copied automatically")),
                        person=who,
                        at=row.at,
                        comment=text,
                        to=[self.name_of(n) for n in _targets_of(row)],
                    )
                ],
                tone="cc",
                at=row.at,
            )
        label = KINDS.get(row.kind)
        if label is None:
            return None  # a kind of row the timeline has no words for is engine bookkeeping
        title = self.step_title(row.element_id) if row.element_id else str(label)
        return Node(
            kind="event",
            title=title,
            element_id=row.element_id,
            marks=[
                Mark(
                    state=str(label),
                    person=who,
                    at=row.at,
                    comment=text,
                    to=[self.name_of(n) for n in _targets_of(row)],
                    tone=TONES.get(row.kind, ""),
                )
            ],
            tone=TONES.get(row.kind, ""),
            at=row.at,
        )

    def comment_node(self, comment: Comment) -> Node:
        author = comment.author
        person = Person(author.username, author.display_name, avatar_text(author.display_name))
        return Node(
            kind="comment",
            title=str(gettext_lazy("Comment")),
            element_id=comment.task.element_id if comment.task else "",
            marks=[
                Mark(
                    state=str(gettext_lazy("commented")),
                    person=person,
                    at=comment.created_at,
                    comment=comment.text,
                )
            ],
            at=comment.created_at,
        )

    def waiting_nodes(self, waiting_people: dict[tuple[str, str], list[str]]) -> list[Node]:
        """The steps waiting now, one node per step: each open task's holder, or the people
        a role or department task is offered to ("财务审核 · 黄丽、刘洋 待处理")."""
        nodes: list[Node] = []
        by_step: dict[str, Node] = {}
        initiator = self.instance.initiator
        now = timezone.now()
        for task in self.live:
            node = by_step.get(task.element_id)
            if node is None:
                node = Node(
                    kind="now",
                    title=self.step_title(task.element_id),
                    mode=self.step_mode(task.element_id),
                    element_id=task.element_id,
                    tone="now",
                )
                by_step[task.element_id] = node
                nodes.append(node)
            node.overdue = node.overdue or bool(task.due_at and task.due_at < now)
            if task.assignee:
                state = str(WAITING_STATES.get(task.state, WAITING_STATES[TaskState.OPEN]))
                node.marks.append(
                    Mark(
                        state=state,
                        person=self.person(task.assignee),
                        tone="now",
                        at=task.created_at,
                        behalf=self.name_of(task.on_behalf_of),
                    )
                )
                node.task = task if node.task is None else node.task
                continue
            names: list[str] = []
            for pair in self.candidates.get(task.pk, []):
                for name in waiting_people.get(pair, []):
                    if name not in names and name != initiator:
                        names.append(name)
            node.task = task if node.task is None else node.task
            node.waiting += [p for n in names if (p := self.person(n)) is not None]
            node.waiting_label = str(gettext_lazy("to handle"))
            if not names:
                node.note = str(gettext_lazy("Nobody can handle this step yet."))
        return nodes


def approval_timeline(
    instance: ProcessInstance,
    graph: Graph,
    *,
    ahead: bool = True,
    reads: InstanceReads | None = None,
) -> Timeline:
    """The request's approval record as a vertical timeline (审批流程): the submission, each
    step with each person's name, decision, time, opinion and signature, the steps waiting
    now with the people who can act, then, for a running request, the steps still ahead as
    the participant rules name them (:func:`workflow.selectors.chain.chain_ahead`), greyed;
    the end with the request's status. A handful of queries, whatever its length.
    ``reads``: the page's reads of the instance."""
    builder = _TimelineBuilder(instance, graph, reads)
    preview = None
    if ahead and instance.state == InstanceState.ACTIVE and builder.live:
        approver = ""
        first = builder.live[0]
        if len(builder.live) == 1 and first.assignee:
            approver = first.assignee
        preview = chain_ahead(
            instance.definition_id,
            initiator=instance.initiator,
            variables=instance.variables or {},
            waiting_at=[t.element_id for t in builder.live],
            approver=approver,
        )
    return builder.build(preview)


# --- a returned request's banner -----------------------------------------------------------


@dataclass
class ReturnNotice:
    """Why a request is back with someone (退回): who sent it back, when, from which step,
    and the reason they gave."""

    who: str
    at: datetime.datetime
    step: str
    reason: str


RETURNING_OUTCOMES = ("returned", "rejected", "timeout-rejected")


def return_notice(
    instance: ProcessInstance, graph: Graph, reads: InstanceReads | None = None
) -> ReturnNotice | None:
    """The banner of a running request whose last decision sent it back: a return (to the
    initiator or an earlier step), or a rejection the process settings turn into a return
    to the initiator (its start form is open again). None otherwise: once the step it went
    back to is decided again, the banner is gone."""
    if instance.state != InstanceState.ACTIVE:
        return None
    reads = reads or InstanceReads(instance)
    decided = [event for event in reads.history if event.kind == "task-completed"]
    last = decided[-1] if decided else None
    if last is None or last.outcome not in RETURNING_OUTCOMES:
        return None
    if last.outcome != "returned":
        at_start = any(
            (element := graph.elements.get(task.element_id)) is not None
            and element.kind is ElementKind.START_EVENT
            for task in reads.open_tasks
        )
        if not at_start:
            return None
    data = last.data or {}
    return ReturnNotice(
        who=display_name(last.actor) if last.actor else str(gettext_lazy("System")),
        at=last.at,
        step=step_name(graph, last.element_id) if last.element_id else "",
        reason=str(data.get("comment") or ""),
    )
