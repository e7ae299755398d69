"""What leaves the portal on paper or in a spreadsheet.

- **打印**: :func:`printout` — a request as its printed approval form (审批单): the request,
  its business data (money with thousands separators and in capitals, 大写), the approval
  record with each person's opinion and handwritten signature, the people copied with their
  read receipts, and the names of the attached files.
- **导出 Excel**: :func:`inbox_sheet`, :func:`drafts_sheet`, :func:`console_instances_sheet`,
  :func:`console_incidents_sheet`, :func:`console_jobs_sheet` — the rows of an inbox tab or a
  console list with the filters the page shows, in the page's order, as a :class:`Sheet` of
  typed cells (names, not user names; states in words), at most :data:`EXPORT_CAP` rows.

Reads only. Each starts from what the person may see: the printout from
``visibility.instances_for`` (another's request is None: a 404), the inbox from the person's
own lists (``inbox.inbox_page``), the console's lists are the administrators' (the views
check that).
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.exports import EXPORT_CAP, Column, Sheet
from portal.keyset import Cursor, Source, keyset_page
from portal.models import Department, User
from workflow.bpmn.model import ElementKind, FormField
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.models import (
    Attachment,
    Draft,
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from workflow.money import as_amount, capital, format_amount
from workflow.selectors import inbox, statistics, timeline, visibility
from workflow.selectors.status import status_of, statuses

__all__ = [
    "EXPORT_CAP",
    "Column",
    "Printout",
    "Sheet",
    "console_incidents_sheet",
    "console_instances_sheet",
    "console_jobs_sheet",
    "drafts_sheet",
    "inbox_sheet",
    "printout",
]

# Form field types whose values are amounts of money (元), persons and departments. A
# process names them in its form (``camunda:formField type="money"``).
MONEY_TYPES = frozenset({"money", "amount", "currency"})
NUMBER_TYPES = frozenset({"double", "decimal", "float", "number"})
PERSON_TYPES = frozenset({"user", "person", "people", "users"})
DEPARTMENT_TYPES = frozenset({"department", "dept", "departments"})

MAX_SIGNATURE_BYTES = 512 * 1024  # a drawn signature is a few KB; anything larger is not one
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- the printout (打印) ----------------------------------------------------------------------


@dataclass
class PrintField:
    """One line of the business data: its label, the value as printed, and for an amount of
    money its capitals (大写)."""

    label: str
    value: str
    capital: str = ""


@dataclass
class PrintStep:
    """One line of the approval record: who did what at which step, when, with which
    opinion (审批意见) and signature (a ``data:`` URI of the PNG, "" without one)."""

    at: datetime.datetime
    step: str
    person: str
    decision: str
    tone: str = ""
    behalf: str = ""
    opinion: str = ""
    signature: str = ""


@dataclass
class PrintCopy:
    name: str
    read_at: datetime.datetime | None


@dataclass
class Printout:
    """A request as printed (see the module's docstring)."""

    instance: ProcessInstance
    process: str
    number: str
    title: str
    initiator: str
    department: str
    state: str
    fields: list[PrintField] = field(default_factory=list)
    steps: list[PrintStep] = field(default_factory=list)
    copies: list[PrintCopy] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    printed_at: datetime.datetime = field(default_factory=timezone.now)
    printed_by: str = ""


def request_number(instance: ProcessInstance) -> str:
    """The number a request is known by: its business key, else its id."""
    return instance.business_key or str(instance.pk)


def _people(usernames: Iterable[str]) -> dict[str, tuple[str, str]]:
    """user name -> (display name, department's name) in one query; an unknown account keeps
    its user name and no department."""
    wanted = {name for name in usernames if name}
    found = {
        user.username: (user.display_name, user.department.display_name if user.department else "")
        for user in User.objects.filter(username__in=wanted).select_related("department")
    }
    return {name: found.get(name, (name, "")) for name in wanted}


def _departments(values: Iterable[Any]) -> dict[str, str]:
    """Department code or id -> its name."""
    wanted = {str(v) for v in values if v not in (None, "")}
    ids = [int(v) for v in wanted if v.isdigit()]
    names: dict[str, str] = {}
    for department in Department.objects.filter(Q(code__in=wanted) | Q(pk__in=ids)):
        names[department.code] = names[str(department.pk)] = department.display_name
    return names


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _declared(graph: Graph) -> list[tuple[str, FormField]]:
    """Each form field the process declares, once (the start form's first), by id."""
    seen: dict[str, FormField] = {}
    elements = sorted(graph.elements.values(), key=lambda e: e.kind is not ElementKind.START_EVENT)
    for element in elements:
        for form_field in element.form_fields:
            if form_field.id and not form_field.id.startswith("_"):
                seen.setdefault(form_field.id, form_field)
    return list(seen.items())


def _print_value(
    value: Any, form_field: FormField, people: dict[str, tuple[str, str]], depts: dict[str, str]
) -> PrintField:
    kind = form_field.type.strip().lower()
    label = form_field.label or form_field.id
    if value is None or value == "" or value == []:
        return PrintField(label, "—")
    if kind in MONEY_TYPES:
        amount = as_amount(value)
        if amount is not None:
            return PrintField(label, f"¥{format_amount(amount)}", capital(amount))
    if kind in PERSON_TYPES:
        names = [people.get(str(v), (str(v), ""))[0] for v in _listed(value)]
        return PrintField(label, "、".join(names))
    if kind in DEPARTMENT_TYPES:
        return PrintField(label, "、".join(depts.get(str(v), str(v)) for v in _listed(value)))
    if isinstance(value, bool):
        return PrintField(label, _("Yes") if value else _("No"))
    if form_field.enum_values and isinstance(value, str):
        return PrintField(label, dict(form_field.enum_values).get(value, value))
    if isinstance(value, int | float | Decimal) and kind in NUMBER_TYPES:
        return PrintField(label, format_amount(value))
    if isinstance(value, int):
        return PrintField(label, f"{value:,}")
    if isinstance(value, list):
        return PrintField(label, "、".join(str(v) for v in value))
    return PrintField(label, str(value))


def _business_fields(instance: ProcessInstance, graph: Graph) -> list[PrintField]:
    variables = instance.variables or {}
    declared = [(name, f) for name, f in _declared(graph) if name in variables]
    person_values = [
        str(v)
        for name, f in declared
        if f.type.strip().lower() in PERSON_TYPES
        for v in _listed(variables[name])
    ]
    dept_values = [
        v
        for name, f in declared
        if f.type.strip().lower() in DEPARTMENT_TYPES
        for v in _listed(variables[name])
    ]
    people, depts = _people(person_values), _departments(dept_values)
    return [_print_value(variables[name], f, people, depts) for name, f in declared]


def signature_data_uri(task: Task) -> str:
    """The task's handwritten signature as a ``data:image/png`` URI ("" without one, or when
    the stored file is missing or not a PNG): the printout and its PDF embed it, so that
    nothing is fetched while printing."""
    if not task.signature:
        return ""
    try:
        with task.signature.open("rb") as handle:
            content = handle.read(MAX_SIGNATURE_BYTES + 1)
    except (OSError, ValueError):
        return ""
    if len(content) > MAX_SIGNATURE_BYTES or not content.startswith(PNG_MAGIC):
        return ""
    return "data:image/png;base64," + base64.b64encode(content).decode("ascii")


RECORD_KINDS = (
    "instance-start",
    "task-completed",
    "task-transferred",
    "task-delegated",
    "task-resolved",
    "signer-added",
    "withdrawn",
    "instance-cancelled",
    "instance-terminated",
)
"""The history rows a printed approval record shows: the decisions and what changed who
decides; reminders, claims and the engine's bookkeeping are left out."""


def _record(instance: ProcessInstance, graph: Graph) -> list[PrintStep]:
    rows = list(
        HistoryEvent.objects.filter(instance_id=instance.pk, kind__in=RECORD_KINDS).order_by(
            "at", "id"
        )
    )
    names = visibility.display_names([r.actor for r in rows] + [r.on_behalf_of for r in rows])
    signed = Task.objects.filter(
        pk__in=[r.task_id for r in rows if r.task_id and r.kind == "task-completed"]
    ).exclude(signature="")
    signatures = {task.pk: signature_data_uri(task) for task in signed}
    steps: list[PrintStep] = []
    for row in rows:
        data = row.data or {}
        if row.kind == "task-completed":
            decision = timeline.OUTCOMES.get(row.outcome, row.outcome)
            tone = timeline.TONES.get(row.outcome, "")
        else:
            decision = timeline.KINDS.get(row.kind, row.kind)
            tone = timeline.TONES.get(row.kind, "")
        who = names.get(row.actor, row.actor) if row.actor else str(_("System"))
        steps.append(
            PrintStep(
                at=row.at,
                step=timeline.step_name(graph, row.element_id) if row.element_id else "",
                person=who,
                decision=str(decision),
                tone=tone,
                behalf=names.get(row.on_behalf_of, "") if row.on_behalf_of else "",
                opinion=str(data.get("comment") or data.get("reason") or ""),
                signature=signatures.get(row.task_id or 0, ""),
            )
        )
    return steps


def printout(user: User, instance_id: int) -> Printout | None:
    """The printout of a request ``user`` may see (None otherwise: a 404)."""
    instance = visibility.instance_for(user, instance_id)
    if instance is None:
        return None
    graph = graph_for_definition(instance.definition_id)
    initiator = _people([instance.initiator]).get(instance.initiator, ("", ""))
    copies = [
        PrintCopy(copy.user.display_name, copy.read_at) for copy in visibility.copies_of(instance)
    ]
    return Printout(
        instance=instance,
        process=instance.definition.name or instance.definition_key,
        number=request_number(instance),
        title=instance.title or instance.definition.name or instance.definition_key,
        initiator=initiator[0],
        department=initiator[1],
        state=status_of(instance).label,
        fields=_business_fields(instance, graph),
        steps=_record(instance, graph),
        copies=copies,
        attachments=list(
            Attachment.objects.filter(instance=instance)
            .order_by("created_at", "pk")
            .values_list("name", flat=True)
        ),
        printed_by=user.display_name,
    )


# --- spreadsheets (导出 Excel) ----------------------------------------------------------------

BATCH = 500  # rows read per keyset page while exporting


def _keyset_rows(
    read: Callable[[Cursor | None, int], tuple[list[Any], Cursor | None]],
) -> tuple[list[Any], bool]:
    """Every row of a keyset-paged list, up to :data:`EXPORT_CAP`; whether it was cut."""
    rows: list[Any] = []
    after: Cursor | None = None
    while True:
        page, following = read(after, min(BATCH, EXPORT_CAP - len(rows)))
        rows += page
        if following is None:
            return rows, False
        if len(rows) >= EXPORT_CAP:
            return rows, True
        after = following


def _yes(value: bool) -> str:
    return str(_("Yes")) if value else ""


def _form_columns(key: str) -> list[tuple[str, FormField]]:
    """The start form's fields of ``key``'s latest version (the columns an export filtered
    to one process adds)."""
    latest = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
    if latest is None:
        return []
    graph = graph_for_definition(latest.pk)
    starts = [e for e in graph.elements.values() if e.kind is ElementKind.START_EVENT]
    found: list[tuple[str, FormField]] = []
    for element in starts:
        for form_field in element.form_fields:
            if form_field.id and not form_field.id.startswith("_"):
                found.append((form_field.id, form_field))
    return found


def _form_column(form_field: FormField) -> Column:
    kind = form_field.type.strip().lower()
    label = form_field.label or form_field.id
    if kind in MONEY_TYPES or kind in NUMBER_TYPES:
        return Column(label, "money", 14)
    if kind == "long":
        return Column(label, "number", 12)
    return Column(label, "text", 16)


class _FormCells:
    """The start form's values of a list's instances, as cells (money as numbers; persons
    and departments by name), for an export filtered to one process."""

    def __init__(self, key: str) -> None:
        self.fields = _form_columns(key) if key else []
        self.columns = [_form_column(f) for _name, f in self.fields]

    def cells(self, instances: Sequence[ProcessInstance]) -> dict[int, list[Any]]:
        if not self.fields:
            return {}
        variables = dict(
            ProcessInstance.objects.filter(pk__in=[i.pk for i in instances]).values_list(
                "pk", "variables"
            )
        )
        people = _people(
            str(v)
            for values in variables.values()
            for name, f in self.fields
            if f.type.strip().lower() in PERSON_TYPES
            for v in _listed((values or {}).get(name))
            if v
        )
        depts = _departments(
            v
            for values in variables.values()
            for name, f in self.fields
            if f.type.strip().lower() in DEPARTMENT_TYPES
            for v in _listed((values or {}).get(name))
        )
        result: dict[int, list[Any]] = {}
        for pk, values in variables.items():
            row: list[Any] = []
            for (name, form_field), column in zip(self.fields, self.columns, strict=True):
                value = (values or {}).get(name)
                if column.kind in ("money", "number"):
                    row.append(as_amount(value))
                elif value is None or value == "":
                    row.append("")
                else:
                    row.append(_print_value(value, form_field, people, depts).value)
            result[pk] = row
        return result


TAB_NAMES: dict[str, Any] = {
    "todo": gettext_lazy("To do"),
    "done": gettext_lazy("Done"),
    "started": gettext_lazy("Started by me"),
    "copied": gettext_lazy("CC'd to me"),
}
KIND_WORDS: dict[str, Any] = {
    "task": gettext_lazy("My task"),
    "claim": gettext_lazy("Offered to my group"),
    "external": gettext_lazy("Another system's task"),
}


def _inbox_columns(tab: str) -> list[Column]:
    title, number, process = Column(_("Title"), width=30), Column(_("Number")), Column(_("Process"))
    initiator, department = Column(_("Initiator"), width=10), Column(_("Department"))
    urgent = Column(_("Urgent"), width=6)
    if tab == "todo":
        return [
            urgent,
            title,
            number,
            process,
            Column(_("Step")),
            initiator,
            department,
            Column(_("Received"), "datetime", 17),
            Column(_("Due"), "datetime", 17),
            Column(_("Overdue"), width=6),
            Column(_("Kind")),
        ]
    if tab == "done":
        return [
            title,
            number,
            process,
            Column(_("Step")),
            initiator,
            department,
            Column(_("Outcome")),
            Column(_("Handled"), "datetime", 17),
            urgent,
        ]
    if tab == "started":
        return [
            title,
            number,
            process,
            Column(_("Status")),
            Column(_("Now at"), width=24),
            Column(_("Started"), "datetime", 17),
            Column(_("Ended"), "datetime", 17),
            urgent,
        ]
    return [
        title,
        number,
        process,
        initiator,
        department,
        Column(_("Copied by"), width=10),
        Column(_("Copied"), "datetime", 17),
        Column(_("Read at"), "datetime", 17),
        Column(_("Status")),
        urgent,
    ]


def _now_at(holders: Sequence[timeline.Holder]) -> str:
    return "；".join(f"{h.step}（{'、'.join(h.people)}）" if h.people else h.step for h in holders)


def _inbox_row(
    tab: str,
    kind: str,
    obj: Any,
    *,
    names: dict[str, str],
    people: dict[str, tuple[str, str]],
    steps: dict[int, list[timeline.Holder]],
    now: datetime.datetime,
) -> list[Any]:
    if kind == "external":
        overdue = bool(obj.due_at and obj.due_at < now)
        return [
            "",
            obj.title,
            obj.external_id,
            obj.source,
            obj.category,
            "",
            "",
            obj.created_at,
            obj.due_at,
            _yes(overdue),
            str(KIND_WORDS["external"]),
        ]
    if kind in ("task", "claim", "done"):
        instance = obj.instance
        process = names.get(obj.definition_key, obj.definition_key)
        who, department = people.get(instance.initiator, ("", ""))
        title = instance.title or process
        step = obj.name or obj.element_id
        if kind == "done":
            outcome = timeline.OUTCOMES.get(obj.outcome, obj.outcome)
            return [
                title,
                request_number(instance),
                process,
                step,
                who,
                department,
                str(outcome),
                obj.completed_at,
                _yes(inbox.task_is_urgent(obj)),
            ]
        overdue = bool(obj.due_at and obj.due_at < now)
        return [
            _yes(inbox.task_is_urgent(obj)),
            title,
            request_number(instance),
            process,
            step,
            who,
            department,
            obj.created_at,
            obj.due_at,
            _yes(overdue),
            str(KIND_WORDS[kind]),
        ]
    instance = obj if kind == "instance" else obj.instance
    process = names.get(instance.definition_key, instance.definition_key)
    title = instance.title or process
    if kind == "instance":
        return [
            title,
            request_number(instance),
            process,
            instance.get_state_display(),
            _now_at(steps.get(instance.pk, [])),
            instance.started_at,
            instance.ended_at,
            _yes(instance.urgent),
        ]
    who, department = people.get(instance.initiator, ("", ""))
    return [
        title,
        request_number(instance),
        process,
        who,
        department,
        people.get(obj.sent_by, ("", ""))[0] if obj.sent_by else "",
        obj.created_at,
        obj.read_at,
        instance.get_state_display(),
        _yes(instance.urgent),
    ]


def inbox_sheet(
    user: User, tab: inbox.Tab, given: inbox.InboxFilter, *, sort: inbox.Sort = "new"
) -> Sheet:
    """An inbox tab as the page lists it for ``user`` (the same filters and order, external
    tasks included in 待办), with the start form's fields as columns when filtered to one
    process."""

    def read(after: Cursor | None, size: int) -> tuple[list[Any], Cursor | None]:
        page = inbox.inbox_page(user, tab, given, sort=sort, after=after, size=size)
        return page.rows, page.next

    found, capped = _keyset_rows(read)
    form = _FormCells(given.process)
    sheet = Sheet(str(TAB_NAMES[tab]), _inbox_columns(tab) + form.columns, capped=capped)
    now = timezone.now()
    for start in range(0, len(found), BATCH):
        batch = found[start : start + BATCH]
        instances = [
            obj if kind == "instance" else obj.instance for kind, obj in batch if kind != "external"
        ]
        names = visibility.process_names(i.definition_key for i in instances)
        people = _people(
            [i.initiator for i in instances]
            + [obj.sent_by for kind, obj in batch if kind == "copy"]
        )
        started = [obj for kind, obj in batch if kind == "instance"]
        steps = timeline.current_steps(started) if started else {}
        cells = form.cells(instances)
        for kind, obj in batch:
            row = _inbox_row(tab, kind, obj, names=names, people=people, steps=steps, now=now)
            if form.columns:
                instance_id = obj.pk if kind == "instance" else getattr(obj, "instance_id", None)
                row += cells.get(instance_id or 0, [""] * len(form.columns))
            sheet.rows.append(row)
    return sheet


def drafts_sheet(user: User) -> Sheet:
    """草稿箱: one's own drafts, last saved first."""
    drafts = list(
        Draft.objects.filter(owner_id=user.pk).order_by("-updated_at", "-pk")[: EXPORT_CAP + 1]
    )
    capped = len(drafts) > EXPORT_CAP
    names = visibility.process_names(d.definition_key for d in drafts)
    sheet = Sheet(
        str(_("Drafts")),
        [
            Column(_("Title"), width=30),
            Column(_("Process")),
            Column(_("Created"), "datetime", 17),
            Column(_("Last saved"), "datetime", 17),
        ],
        capped=capped,
    )
    for draft in drafts[:EXPORT_CAP]:
        process = names.get(draft.definition_key, draft.definition_key)
        sheet.rows.append([draft.title, process, draft.created_at, draft.updated_at])
    return sheet


def console_instances_sheet(filters: statistics.InstanceFilter) -> Sheet:
    """The console's instance list with its filters, newest first."""
    rows = statistics.console_instances(filters)

    def read(after: Cursor | None, size: int) -> tuple[list[Any], Cursor | None]:
        page = keyset_page([Source(rows, "started_at")], after=after, size=size)
        return page.objects, page.next

    found, capped = _keyset_rows(read)
    form = _FormCells(filters.key)
    sheet = Sheet(
        str(_("Instances")),
        [
            Column(_("ID"), "number", 8),
            Column(_("Title"), width=30),
            Column(_("Business key")),
            Column(_("Process")),
            Column(_("Version"), "number", 7),
            Column(_("Status")),
            Column(_("Initiator"), width=10),
            Column(_("Department")),
            Column(_("Started"), "datetime", 17),
            Column(_("Ended"), "datetime", 17),
            Column(_("Now at"), width=24),
            Column(_("Open incidents"), "number", 8),
            Column(_("Urgent"), width=6),
            *form.columns,
        ],
        capped=capped,
    )
    for start in range(0, len(found), BATCH):
        batch: list[ProcessInstance] = found[start : start + BATCH]
        people = _people(i.initiator for i in batch)
        steps = timeline.current_steps(batch)
        status = statuses(batch)
        cells = form.cells(batch)
        for instance in batch:
            who, department = people.get(instance.initiator, ("", ""))
            row: list[Any] = [
                instance.pk,
                instance.title,
                instance.business_key,
                instance.definition.name or instance.definition_key,
                instance.definition.version,
                status[instance.pk].label,
                who,
                department,
                instance.started_at,
                instance.ended_at,
                _now_at(steps.get(instance.pk, [])),
                getattr(instance, "open_incidents", None) or 0,
                _yes(instance.urgent),
            ]
            sheet.rows.append(row + cells.get(instance.pk, [""] * len(form.columns)))
    return sheet


def console_incidents_sheet(*, resolved: bool, key: str) -> Sheet:
    """The console's incidents (open or resolved, of one process or all), newest first."""
    rows = statistics.console_incidents(resolved=resolved, key=key)

    def read(after: Cursor | None, size: int) -> tuple[list[Any], Cursor | None]:
        page = keyset_page([Source(rows)], after=after, size=size)
        return page.objects, page.next

    found, capped = _keyset_rows(read)
    sheet = Sheet(
        str(_("Incidents")),
        [
            Column(_("Time"), "datetime", 17),
            Column(_("Process")),
            Column(_("Instance"), "number", 8),
            Column(_("Title"), width=24),
            Column(_("Step")),
            Column(_("Error"), width=50),
            Column(_("Status")),
            Column(_("Resolved at"), "datetime", 17),
            Column(_("Resolved by"), width=10),
            Column(_("Retries left"), "number", 8),
        ],
        capped=capped,
    )
    for start in range(0, len(found), BATCH):
        batch: list[Incident] = found[start : start + BATCH]
        jobs = statistics.incident_jobs(batch)
        resolvers = visibility.display_names(i.resolved_by for i in batch)
        for incident in batch:
            instance = incident.instance
            job = jobs.get(incident.job_id or 0)
            sheet.rows.append(
                [
                    incident.created_at,
                    (instance.definition.name or instance.definition_key) if instance else "",
                    instance.pk if instance else None,
                    instance.title if instance else "",
                    statistics.element_name(
                        instance.definition_id if instance else None, incident.element_id
                    ),
                    incident.message,
                    str(_("resolved") if incident.resolved_at else _("open")),
                    incident.resolved_at,
                    resolvers.get(incident.resolved_by, "") if incident.resolved_by else "",
                    job.retries if job is not None else None,
                ]
            )
    return sheet


def _job_state(job: Job, now: datetime.datetime) -> str:
    """As the job queue's page counts it (``statistics.job_health``)."""
    if job.locked_until is not None and job.locked_until >= now:
        return str(_("running"))
    if job.retries == 0:
        return str(_("failed"))
    if job.due_at > now:
        return str(_("scheduled later"))
    if job.instance is not None and job.instance.state == InstanceState.SUSPENDED:
        return str(_("held (process suspended)"))
    return str(_("due now"))


def console_jobs_sheet() -> Sheet:
    """The job queue, soonest due first: each job with its state in the words of the job
    queue's page."""
    rows: QuerySet[Job] = Job.objects.select_related("instance", "definition").defer(
        "payload", "instance__variables", "definition__xml"
    )

    def read(after: Cursor | None, size: int) -> tuple[list[Any], Cursor | None]:
        page = keyset_page([Source(rows, "due_at")], after=after, size=size, ascending=True)
        return page.objects, page.next

    found, capped = _keyset_rows(read)
    kinds = dict(JobKind.choices)
    now = timezone.now()
    sheet = Sheet(
        str(_("Job queue")),
        [
            Column(_("Kind")),
            Column(_("Status")),
            Column(_("Due"), "datetime", 17),
            Column(_("Process")),
            Column(_("Instance"), "number", 8),
            Column(_("Step")),
            Column(_("Attempts"), "number", 8),
            Column(_("Retries left"), "number", 8),
            Column(_("Last error"), width=50),
        ],
        capped=capped,
    )
    for job in found:
        definition = job.definition
        sheet.rows.append(
            [
                str(kinds.get(job.kind, job.kind)),
                _job_state(job, now),
                job.due_at,
                (definition.name or definition.key) if definition is not None else "",
                job.instance_id,
                statistics.element_name(job.definition_id, job.element_id),
                job.attempts,
                job.retries,
                job.last_error,
            ]
        )
    return sheet
