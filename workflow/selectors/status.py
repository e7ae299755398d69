"""A request's status in the words people use (审批中 / 已通过 / 已驳回 / 已撤回 / 已撤销 ...),
worked out from the engine's state and how the request ended or where it stands.

The engine knows *running*, *completed*, *rejected*, *cancelled*; a person wants to read
whether their request is still being approved, went through, was turned down, or is back
with them. Every page and list that shows a request's state (the inbox, the instance and
task pages, the console) and the API's ``status_display`` take it from here; the API's
``state`` stays the engine's.

- running, and with its initiator again because they took it back (撤回): *withdrawn*;
- running, and with its initiator again because an approver returned it (退回): *returned*;
- running otherwise: *running* (审批中); suspended by an administrator: *suspended*;
- ended at an end event: *approved*, unless the last decision on it was a rejection that
  the diagram routed to its end (the process settings' "the diagram decides"): *rejected*;
- ended as rejected: *rejected*; cancelled by the initiator (撤销): *cancelled*;
  terminated by an administrator: *terminated*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db.models import BooleanField, Case, Value, When
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from workflow.bpmn.model import ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.models import HistoryEvent, InstanceState, ProcessInstance, Task, TaskState

StatusCode = Literal[
    "running",
    "returned",
    "withdrawn",
    "suspended",
    "approved",
    "rejected",
    "cancelled",
    "terminated",
]

LABELS: dict[str, Promise] = {
    "running": gettext_lazy("In approval"),
    "returned": gettext_lazy("Returned"),
    "withdrawn": gettext_lazy("Withdrawn"),
    "suspended": gettext_lazy("Suspended"),
    # 已通过 (the request went through), where a step's decision "Approved" is 已同意
    "approved": pgettext_lazy("request status", "Approved"),
    "rejected": gettext_lazy("Rejected"),
    "cancelled": gettext_lazy("Cancelled"),
    "terminated": gettext_lazy("Terminated"),
}


@dataclass(frozen=True)
class Status:
    """A request's status: ``code`` for a CSS class (``status-<code>``) and machines,
    ``label`` in the reader's language."""

    code: StatusCode

    @property
    def label(self) -> str:
        return str(LABELS[self.code])

    def __str__(self) -> str:
        return self.label


# a step's outcomes that send the request back to its initiator (with the reject policy
# "return it to the initiator", a rejection does)
SENT_BACK = ("returned", "rejected", "auto-rejected")

_ENDED: dict[str, StatusCode] = {
    InstanceState.REJECTED: "rejected",
    InstanceState.CANCELLED: "cancelled",
    InstanceState.TERMINATED: "terminated",
}


def rejected_by_diagram(path: str = "") -> Case:
    """Whether a request's ``approved`` variable is false (a rejection its diagram routed
    to an end event), as a column: lists that leave the variables out (they can be large)
    annotate it as ``rejected_by_diagram`` (``path``: to the instance, ``instance__``) and
    :func:`statuses` reads that instead of loading each row's variables (a query per row)."""
    return Case(
        When(**{f"{path}variables__approved": False}, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _ended(instance: ProcessInstance) -> StatusCode:
    if instance.state in _ENDED:
        return _ENDED[instance.state]
    # "the diagram decides": a rejection the diagram routed to an end event
    flagged: bool | None = getattr(instance, "rejected_by_diagram", None)
    if flagged is not None:
        return "rejected" if flagged else "approved"
    if (instance.variables or {}).get("approved") is False:
        return "rejected"
    return "approved"


def _back_with_initiator(
    instances: Sequence[ProcessInstance], open_tasks: Iterable[Task] | None = None
) -> dict[int, StatusCode]:
    """The running ones waiting for their initiator at the start (a resubmit task): whether
    they were taken back (撤回) or returned (退回, or rejected back to the initiator). Two
    queries for any number of instances, one when the caller read their open tasks."""
    at_start: set[int] = set()
    rows: Iterable[tuple[int, str]]
    if open_tasks is None:
        rows = Task.objects.filter(
            instance_id__in=[i.pk for i in instances], state=TaskState.OPEN
        ).values_list("instance_id", "element_id")
    else:
        wanted = {i.pk for i in instances}
        rows = [
            (t.instance_id, t.element_id)
            for t in open_tasks
            if t.state == TaskState.OPEN and t.instance_id in wanted
        ]
    by_pk = {i.pk: i for i in instances}
    for instance_id, element_id in rows:
        element = graph_for_definition(by_pk[instance_id].definition_id).elements.get(element_id)
        if element is not None and element.kind is ElementKind.START_EVENT:
            at_start.add(instance_id)
    if not at_start:
        return {}
    found: dict[int, StatusCode] = {}
    events = (
        HistoryEvent.objects.filter(
            instance_id__in=at_start,
            kind__in=("withdrawn", "task-completed", "instance-moved", "instance-migrated"),
        )
        .order_by("-at", "-id")
        .values_list("instance_id", "kind", "outcome")
    )
    for instance_id, kind, outcome in events:
        if instance_id in found:
            continue
        if kind == "withdrawn":
            found[instance_id] = "withdrawn"
        elif kind == "task-completed" and outcome in SENT_BACK:
            found[instance_id] = "returned"
        else:  # moved there by an administrator: still in approval
            found[instance_id] = "running"
    return found


def statuses(
    instances: Sequence[ProcessInstance], *, open_tasks: Iterable[Task] | None = None
) -> dict[int, Status]:
    """The status of each of ``instances`` (a page of a list), by instance id.
    ``open_tasks``: every open task of these instances, when the caller read them already
    (``timeline.current_steps`` does)."""
    running = [i for i in instances if i.state == InstanceState.ACTIVE]
    back = _back_with_initiator(running, open_tasks) if running else {}
    result: dict[int, Status] = {}
    for instance in instances:
        if instance.state == InstanceState.ACTIVE:
            result[instance.pk] = Status(back.get(instance.pk, "running"))
        elif instance.state == InstanceState.SUSPENDED:
            result[instance.pk] = Status("suspended")
        else:
            result[instance.pk] = Status(_ended(instance))
    return result


def status_of(instance: ProcessInstance, *, open_tasks: Iterable[Task] | None = None) -> Status:
    """The status of one request (``open_tasks``: its open tasks, when read already)."""
    return statuses([instance], open_tasks=open_tasks)[instance.pk]


# --- what stopped a step (an incident), in words ---------------------------------------------

# The engine keeps an incident's message as the error said it (an element id first, then a
# program's words, often English): people read what kind of trouble it is; the message
# itself stays for the administrator, as the technical detail.
_INCIDENT_KINDS: tuple[tuple[re.Pattern[str], Promise], ...] = (
    (
        re.compile(r"not configured|not set up|; set [A-Z_]+|is not set", re.IGNORECASE),
        gettext_lazy("The system this step connects to is not set up yet."),
    ),
    (
        re.compile(r"timed? ?out", re.IGNORECASE),
        gettext_lazy("The other system did not answer in time."),
    ),
    (
        re.compile(
            r"connect|refused|unreachable|resolve|HTTP [45][0-9][0-9]|status [45][0-9][0-9]",
            re.IGNORECASE,
        ),
        gettext_lazy("The other system could not be reached or refused the call."),
    ),
    (
        re.compile(r"not registered|no application", re.IGNORECASE),
        gettext_lazy("The step calls an application this portal does not have."),
    ),
    (
        re.compile(r"no outgoing|no flow|no sequence flow|no condition", re.IGNORECASE),
        gettext_lazy("No path of the diagram fits the request's data."),
    ),
    (
        re.compile(r"expression|variable|not defined|unknown name|evaluat", re.IGNORECASE),
        gettext_lazy("A condition or value of the process could not be worked out."),
    ),
    (
        re.compile(r"Nobody can handle|choose a handler|无人|选择处理人", re.IGNORECASE),
        gettext_lazy("Nobody can handle this step: a process administrator has to choose one."),
    ),
)
_ELEMENT_PREFIX = re.compile(r"\A[A-Za-z_][\w.-]*: ")


@dataclass(frozen=True)
class IncidentText:
    """An incident as people read it: ``words`` say what kind of trouble it is, in the
    reader's language; ``detail`` is the error as the engine kept it (for administrators)."""

    words: str
    detail: str


def incident_text(message: str) -> IncidentText:
    """What stopped a step (``Incident.message``), in words."""
    detail = _ELEMENT_PREFIX.sub("", message or "", count=1).strip()
    for pattern, words in _INCIDENT_KINDS:
        if pattern.search(detail):
            return IncidentText(str(words), detail)
    return IncidentText(str(gettext_lazy("An error stopped this step.")), detail)


# --- the initiator's own step, and the last decision (for apps that start requests) ---------


def resubmission_task(instance_id: int) -> int | None:
    """The open task at the start event of a running instance: the step its initiator
    completes (``services.approvals.task_approve``) to resubmit a request that was returned
    (退回) or taken back (撤回); None while the request is with its approvers or has ended.
    For an app that started the request and resubmits it for its person (the knowledge
    base's article review)."""
    instance = ProcessInstance.objects.filter(pk=instance_id, state=InstanceState.ACTIVE).first()
    if instance is None:
        return None
    graph = graph_for_definition(instance.definition_id)
    rows = Task.objects.filter(instance_id=instance_id, state=TaskState.OPEN).values_list(
        "pk", "element_id"
    )
    for task_id, element_id in rows:
        element = graph.elements.get(element_id)
        if element is not None and element.kind is ElementKind.START_EVENT:
            return int(task_id)
    return None


@dataclass(frozen=True)
class Decision:
    """The last step someone completed on a request: who (a user name), with what outcome
    (approved, returned, rejected ...) and the opinion they gave."""

    actor: str
    outcome: str
    comment: str


def last_decision(instance_id: int) -> Decision | None:
    """Who last completed a step of the instance by hand, how, and with what opinion (None
    before anyone did): what an app shows beside its own object (returned by 张伟: ...).
    Read from the task rows, which a decision writes at once, so that an application the
    decision runs inline sees it too (the opinion joins the history when the run is
    written: empty until then)."""
    row = (
        Task.objects.filter(instance_id=instance_id, state=TaskState.COMPLETED)
        .exclude(completed_by="")
        .order_by("-completed_at", "-id")
        .values_list("pk", "completed_by", "outcome")
        .first()
    )
    if row is None:
        return None
    task_id, actor, outcome = row
    data = (
        HistoryEvent.objects.filter(instance_id=instance_id, task_id=task_id, kind="task-completed")
        .values_list("data", flat=True)
        .first()
    )
    comment = data.get("comment", "") if isinstance(data, dict) else ""
    return Decision(actor, outcome or "", str(comment or ""))


__all__ = [
    "LABELS",
    "Decision",
    "IncidentText",
    "Status",
    "StatusCode",
    "incident_text",
    "last_decision",
    "resubmission_task",
    "status_of",
    "statuses",
]


def request_facts(instance_id: int) -> tuple[str, str] | None:
    """A request's initiator and title, for an app that tells people about it (the ERP
    bridge's refusal notice); None when there is no such request."""
    return ProcessInstance.objects.filter(pk=instance_id).values_list("initiator", "title").first()
