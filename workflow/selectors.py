"""What a person may see of the workflow, and the inbox's lists (docs/approvals.md).

Every view and API endpoint starts from these querysets, so an instance or task a person
may not see is simply not found (404), never a 403 that tells it exists.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Department, Role, User, localized_name
from workflow import participants
from workflow.approvals import is_process_admin, return_targets
from workflow.bpmn.model import ElementKind
from workflow.bpmn.render import Highlight
from workflow.engine.cache import graph_for_definition
from workflow.external import external_tasks_for
from workflow.forms import form_for, has_step_form
from workflow.models import (
    CarbonCopy,
    Delegation,
    Execution,
    ExternalTask,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskCandidate,
    TaskState,
)

__all__ = [
    "FIRST_FILTER_DAY",
    "LAST_FILTER_DAY",
    "URGENT_PRIORITY",
    "BadCursor",
    "Cursor",
    "InboxFilter",
    "InboxPage",
    "copies_for",
    "current_steps",
    "display_names",
    "filter_external_tasks",
    "filter_instances",
    "filter_tasks",
    "inbox_counts",
    "inbox_page",
    "inbox_processes",
    "instance_highlight",
    "instances_for",
    "instances_started",
    "process_names",
    "return_targets",
    "step_defaults",
    "task_actions",
    "task_for",
    "task_needs_input",
    "tasks_assigned",
    "tasks_claimable",
    "tasks_done",
    "tasks_needing_input",
    "tasks_todo",
    "validate_filter_date",
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


def tasks_assigned(user: User) -> QuerySet[Task]:
    """The open tasks assigned to ``user`` (the personal half of 待办)."""
    return Task.objects.filter(state=TaskState.OPEN, assignee=user.username)


def tasks_todo(user: User) -> QuerySet[Task]:
    """待办: open tasks assigned to ``user``, and unclaimed tasks ``user`` may claim. Lists
    read the two halves as separate indexed sources (``tasks_assigned``,
    ``tasks_claimable``): one OR over both matches a busy role's every candidate row first."""
    return tasks_assigned(user) | tasks_claimable(user)


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
        graph = graph_for_definition(instance.definition_id)
        element = graph.elements.get(task.element_id)
        own_request = name == instance.initiator and (
            element is None
            or not participants.initiator_may_act(
                participants.settings_for(instance.definition_key), element
            )
        )
        mine = name in (task.assignee, task.on_behalf_of) and bool(task.assignee)
        mine = mine and not own_request
        candidate = not task.assignee and not own_request and participants.is_candidate(user, task)
        if candidate:
            actions.add("claim")
        if mine and task.delegation == Delegation.PENDING:
            actions.add("resolve")
        elif mine or candidate:
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


# --- the inbox ----------------------------------------------------------------------------------
#
# The page (workflow/views/inbox.py) and the API (``/api/v1/tasks/``) filter with the same
# functions. Every list is read as one or more *sources*, each an indexed query ordered by
# its own date column and id, merged in Python and cut by a keyset cursor: no OFFSET, no
# COUNT over a user's whole history.

URGENT_PRIORITY = 50
"""A task whose ``priority`` is above this is urgent (the engine's default is 50)."""

Sort = Literal["new", "old", "due"]
Tab = Literal["todo", "done", "started", "copied"]


@dataclass(frozen=True)
class InboxFilter:
    """What a person narrowed the inbox to; an empty value does not filter.

    ``created_after``/``created_before`` bound the list's own date (when a task arrived,
    when I completed it, when an instance started, when I was copied); ``overdue`` keeps
    (True) or leaves out (False) overdue rows: an open task past its due date, an instance
    with one; ``urgent`` tasks above :data:`URGENT_PRIORITY`; ``q`` searches the title,
    business key, step name and the initiator's name; ``unread`` (copies) keeps unread
    (True) or read (False) ones."""

    process: str = ""
    created_after: datetime.datetime | None = None
    created_before: datetime.datetime | None = None
    overdue: bool | None = None
    urgent: bool | None = None
    q: str = ""
    unread: bool | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> InboxFilter:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in names and v is not None})


# A date filter becomes a local midnight (and the next one) or a moment that the database
# adapter converts to UTC. Python's calendar ends at 0001-01-01 and 9999-12-31, so within a
# day of either end that conversion overflows in some time zone: a 500 (issue 13).
FIRST_FILTER_DAY = datetime.date.min + datetime.timedelta(days=1)
LAST_FILTER_DAY = datetime.date.max - datetime.timedelta(days=1)


def validate_filter_date(value: datetime.date | datetime.datetime) -> None:
    """A list may be filtered by a day, or a moment on a day (as written, in its own
    offset), from :data:`FIRST_FILTER_DAY` to :data:`LAST_FILTER_DAY`; anything else is
    refused as the field's error (a form's, or a serializer's: DRF turns this
    ``ValidationError`` into its own) instead of overflowing when the list is read. An
    offset is less than a day, so inside this range the moment exists in UTC too."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if not FIRST_FILTER_DAY <= day <= LAST_FILTER_DAY:
        raise ValidationError(
            _("Give a date between %(first)s and %(last)s."),
            code="out_of_range",
            params={"first": FIRST_FILTER_DAY.isoformat(), "last": LAST_FILTER_DAY.isoformat()},
        )


def _dated(rows: QuerySet[Any], given: InboxFilter, date_field: str) -> QuerySet[Any]:
    if given.created_after:
        rows = rows.filter(**{f"{date_field}__gte": given.created_after})
    if given.created_before:
        rows = rows.filter(**{f"{date_field}__lt": given.created_before})
    return rows


def _overdue(rows: QuerySet[Any], given: InboxFilter, late: Q) -> QuerySet[Any]:
    if given.overdue is None:
        return rows
    return rows.filter(late) if given.overdue else rows.exclude(late)


def _people_named(text: str) -> QuerySet[User, Any]:
    """User names of the people whose name (张伟, "Wei Zhang", the user name) contains
    ``text``."""
    return (
        User.objects.annotate(
            _family_first=Concat("last_name", "first_name"),
            _given_first=Concat("first_name", "last_name"),
        )
        .filter(
            Q(username__iexact=text)
            | Q(_family_first__icontains=text)
            | Q(_given_first__icontains=text)
            | Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
        )
        .values("username")
    )


def filter_tasks(
    rows: QuerySet[Task], given: InboxFilter, *, date_field: str = "created_at"
) -> QuerySet[Task]:
    """Tasks narrowed by ``given``: overdue is an open task past its due date; urgent a
    priority above :data:`URGENT_PRIORITY`."""
    if given.process:
        rows = rows.filter(definition_key=given.process)
    rows = _overdue(rows, given, Q(state=TaskState.OPEN, due_at__lt=timezone.now()))
    if given.urgent is not None:
        urgent = Q(priority__gt=URGENT_PRIORITY)
        rows = rows.filter(urgent) if given.urgent else rows.exclude(urgent)
    if given.q:
        text = given.q
        rows = rows.filter(
            Q(name__icontains=text)
            | Q(instance__title__icontains=text)
            | Q(instance__business_key__icontains=text)
            | Q(instance__initiator__in=_people_named(text))
        )
    return _dated(rows, given, date_field)


def filter_instances(
    rows: QuerySet[Any], given: InboxFilter, *, path: str, date_field: str
) -> QuerySet[Any]:
    """The filters on instances (``path`` "") or rows of an instance (``instance__``);
    overdue: the instance has an overdue open task."""
    if given.process:
        rows = rows.filter(**{f"{path}definition_key": given.process})
    late = Task.objects.filter(state=TaskState.OPEN, due_at__lt=timezone.now())
    rows = _overdue(rows, given, Q(**{f"{path}pk__in": late.values("instance_id")}))
    if given.q:
        text = given.q
        rows = rows.filter(
            Q(**{f"{path}title__icontains": text})
            | Q(**{f"{path}business_key__icontains": text})
            | Q(**{f"{path}initiator__in": _people_named(text)})
        )
    return _dated(rows, given, date_field)


def filter_external_tasks(
    rows: QuerySet[ExternalTask], given: InboxFilter
) -> QuerySet[ExternalTask]:
    """External tasks narrowed by ``given`` (they have no process, step or priority: the
    callers leave them out when those filters are set)."""
    rows = _overdue(rows, given, Q(due_at__lt=timezone.now()))
    if given.q:
        rows = rows.filter(Q(title__icontains=given.q) | Q(summary__icontains=given.q))
    return _dated(rows, given, "created_at")


def tasks_claimable(user: User) -> QuerySet[Task]:
    """The unclaimed open tasks ``user`` may claim (the candidate half of 待办). On a request
    they started, only a candidate row naming them counts (``participants.task_candidacy``:
    the engine writes one only where the step lets the initiator act)."""
    name = user.username
    named = TaskCandidate.objects.filter(kind="user", value=name).values("task_id")
    shared = (
        TaskCandidate.objects.filter(participants.user_candidacy(user))
        .exclude(kind="user")
        .values("task_id")
    )
    return Task.objects.filter(state=TaskState.OPEN, assignee="").filter(
        Q(pk__in=named) | (Q(pk__in=shared) & ~Q(instance__initiator=name))
    )


# --- keyset pages of merged sources --------------------------------------------------------------


class BadCursor(ValueError):
    """A cursor that this code did not write (edited by hand, truncated)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's sort value (None: a row without a due date),
    its source's rank and its id."""

    at: datetime.datetime | None
    rank: int
    pk: int

    def encode(self) -> str:
        at = self.at.isoformat() if self.at else None
        raw = json.dumps([at, self.rank, self.pk], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, rank, pk = json.loads(raw)
            moment = None if at is None else datetime.datetime.fromisoformat(at)
            if moment is not None and timezone.is_naive(moment):
                raise ValueError
            if moment is not None:
                # in UTC, as the database is asked: near year 1 or 9999 this overflows
                moment = moment.astimezone(datetime.UTC)
            if not isinstance(rank, int) or not isinstance(pk, int):
                raise ValueError
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise BadCursor(text) from None
        return cls(moment, rank, pk)


@dataclass(frozen=True)
class _Source:
    rows: QuerySet[Any]
    kind: str
    field: str
    rank: int = 0


def _sort_key(at: datetime.datetime | None, rank: int, pk: int, ascending: bool) -> tuple:
    # ascending with rows without a value last; descending values are never null
    if ascending:
        return (at is None, at or datetime.datetime.min.replace(tzinfo=datetime.UTC), rank, pk)
    return (at, rank, pk)


def _after(source: _Source, cursor: Cursor, ascending: bool) -> QuerySet[Any]:
    """The rows of ``source`` that come after ``cursor`` in the order (value, rank, id)."""
    name = source.field
    if ascending:
        if source.rank > cursor.rank:
            same: Q | None = Q()
        elif source.rank == cursor.rank:
            same = Q(pk__gt=cursor.pk)
        else:
            same = None
        if cursor.at is None:
            later = Q(pk__in=[])
            tie = Q(**{f"{name}__isnull": True})
        else:
            later = Q(**{f"{name}__gt": cursor.at}) | Q(**{f"{name}__isnull": True})
            tie = Q(**{name: cursor.at})
    else:
        if source.rank < cursor.rank:
            same = Q()
        elif source.rank == cursor.rank:
            same = Q(pk__lt=cursor.pk)
        else:
            same = None
        later = Q(**{f"{name}__lt": cursor.at})
        tie = Q(**{name: cursor.at})
    condition = later if same is None else later | (tie & same)
    return source.rows.filter(condition)


@dataclass
class InboxPage:
    """One page of a tab: ``rows`` as (kind, row) pairs in order; ``next`` the cursor of
    the next page (None on the last). Kinds: ``task`` (mine), ``claim`` (a candidate task),
    ``external``, ``done``, ``instance``, ``copy``."""

    rows: list[tuple[str, Any]]
    next: Cursor | None
    sort: Sort
    date_field: str = "created_at"
    kinds: set[str] = field(default_factory=set)


def _page(sources: Sequence[_Source], *, sort: Sort, after: Cursor | None, size: int) -> InboxPage:
    ascending = sort in ("old", "due")
    found: list[tuple[tuple, Cursor, str, Model]] = []
    for source in sources:
        rows = source.rows if after is None else _after(source, after, ascending)
        order: list[Any]
        if ascending:
            order = [F(source.field).asc(nulls_last=True), "pk"]
        else:
            order = [F(source.field).desc(), "-pk"]
        for row in rows.order_by(*order)[: size + 1]:
            at = getattr(row, source.field)
            position = Cursor(at, source.rank, row.pk)
            found.append(
                (_sort_key(at, source.rank, row.pk, ascending), position, source.kind, row)
            )
    found.sort(key=lambda item: item[0], reverse=not ascending)
    shown = found[:size]
    following = shown[-1][1] if len(found) > size else None
    return InboxPage([(kind, row) for _k, _p, kind, row in shown], following, sort)


# Rows of two tables with the same time: ours before the external ones.
RANK_TASK, RANK_EXTERNAL = 1, 0


def inbox_page(
    user: User,
    tab: Tab,
    given: InboxFilter,
    *,
    sort: Sort = "new",
    after: Cursor | None = None,
    size: int = 20,
) -> InboxPage:
    """One page of an inbox tab for ``user``.

    - 待办 ``todo``: open tasks assigned to ``user`` (``task``), unclaimed ones they may
      claim (``claim``), and their open external tasks (``external``, left out when a
      process or urgency filter is set: they have neither). By arrival, or ``due`` soonest
      (tasks without a due date last).
    - 已办 ``done``: tasks ``user`` completed, by completion time.
    - 我发起的 ``started``: instances ``user`` started, by start time.
    - 抄送我的 ``copied``: copies to ``user``, by the time of the copy.

    ``sort`` ``new`` (default) or ``old``; ``due`` applies to the to-do tab only.
    """
    name = user.username
    # names of processes come from process_names(): the definition (its XML) is not joined
    task_rows = Task.objects.select_related("instance").defer("data")
    sources: list[_Source]
    if tab == "todo":
        field_name = "due_at" if sort == "due" else "created_at"
        mine = tasks_assigned(user).select_related("instance").defer("data")
        claimable = tasks_claimable(user).select_related("instance").defer("data")
        sources = [
            _Source(filter_tasks(mine, given), "task", field_name, RANK_TASK),
            _Source(filter_tasks(claimable, given), "claim", field_name, RANK_TASK),
        ]
        if not given.process and given.urgent is None:
            externals = filter_external_tasks(external_tasks_for(user), given)
            sources.append(_Source(externals, "external", field_name, RANK_EXTERNAL))
    elif tab == "done":
        sort = "old" if sort == "old" else "new"
        done = task_rows.filter(state=TaskState.COMPLETED, completed_by=name)
        sources = [
            _Source(filter_tasks(done, given, date_field="completed_at"), "done", "completed_at")
        ]
    elif tab == "started":
        sort = "old" if sort == "old" else "new"
        started = ProcessInstance.objects.filter(initiator=name).defer("variables")
        sources = [
            _Source(
                filter_instances(started, given, path="", date_field="started_at"),
                "instance",
                "started_at",
            )
        ]
    else:
        sort = "old" if sort == "old" else "new"
        copies = (
            CarbonCopy.objects.filter(user=user)
            .select_related("instance")
            .defer("instance__variables")
        )
        if given.unread is not None:
            copies = copies.filter(read_at__isnull=given.unread)
        sources = [
            _Source(
                filter_instances(copies, given, path="instance__", date_field="created_at"),
                "copy",
                "created_at",
            )
        ]
    page = _page(sources, sort=sort, after=after, size=size)
    page.date_field = sources[0].field
    page.kinds = {source.kind for source in sources}
    return page


COUNT_CAP = 100
"""Counts stop here (shown as "99+"): each is an indexed count over at most this many rows,
however long a person's history is."""


def _capped(rows: QuerySet[Any]) -> int:
    return rows.values("pk")[:COUNT_CAP].count()


def inbox_counts(user: User) -> dict[str, int]:
    """The numbers on the tabs, each at most :data:`COUNT_CAP`: ``todo`` (my open tasks,
    the ones I may claim, my open external tasks) and ``copied`` (unread copies)."""
    todo = (
        _capped(tasks_assigned(user))
        + _capped(tasks_claimable(user))
        + _capped(external_tasks_for(user))
    )
    unread = _capped(CarbonCopy.objects.filter(user=user, read_at__isnull=True))
    return {"todo": min(todo, COUNT_CAP), "copied": unread}


def inbox_processes(user: User) -> list[tuple[str, str]]:
    """(key, name) of the processes that appear in ``user``'s inbox: of their open tasks,
    the tasks they may claim, their latest 500 completed tasks, their instances and copies;
    by name."""
    name = user.username
    keys = set(tasks_assigned(user).values_list("definition_key", flat=True).distinct())
    # of a long history, the processes of the latest completed tasks (an indexed range)
    keys |= set(
        Task.objects.filter(completed_by=name)
        .order_by("-completed_at")
        .values_list("definition_key", flat=True)[:500]
    )
    keys |= set(tasks_claimable(user).values_list("definition_key", flat=True).distinct())
    keys |= set(
        ProcessInstance.objects.filter(initiator=name)
        .values_list("definition_key", flat=True)
        .distinct()
    )
    keys |= set(
        CarbonCopy.objects.filter(user=user)
        .values_list("instance__definition_key", flat=True)
        .distinct()
    )
    names = process_names(keys)
    return sorted(((key, names.get(key) or key) for key in keys), key=lambda pair: pair[1])


def process_names(keys: Iterable[str]) -> dict[str, str]:
    """The name of each process key's latest version."""
    names: dict[str, str] = {}
    rows = (
        ProcessDefinition.objects.filter(key__in=set(keys))
        .order_by("key", "-version")
        .values_list("key", "name")
    )
    for key, name in rows:
        names.setdefault(key, name or key)
    return names


def display_names(usernames: Iterable[str]) -> dict[str, str]:
    """Each user name's display name (the user name itself for an unknown account)."""
    wanted = {name for name in usernames if name}
    found = {
        user.username: user.display_name
        for user in User.objects.filter(username__in=wanted).only(
            "username", "first_name", "last_name"
        )
    }
    return {name: found.get(name, name) for name in wanted}


def current_steps(instance_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Where each instance stands now: (step name, who holds it) of its open tasks; the
    holder is a user name, or "" for a task waiting to be claimed."""
    steps: dict[int, list[tuple[str, str]]] = {}
    rows = (
        Task.objects.filter(instance_id__in=list(instance_ids), state=TaskState.OPEN)
        .order_by("created_at", "pk")
        .values_list("instance_id", "name", "element_id", "assignee")
    )
    for instance_id, name, element_id, assignee in rows:
        steps.setdefault(instance_id, []).append((name or element_id, assignee))
    return steps


# --- "needs no input": what bulk approve may approve -----------------------------------------


def _scope(task: Task, local: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**task.instance.variables, **(local or {})}


def _local_variables(tasks: Sequence[Task]) -> dict[tuple[int, int], dict[str, Any]]:
    if not tasks:
        return {}
    wanted = Q()
    for task in tasks:
        wanted |= Q(instance_id=task.instance_id, number=task.execution)
    return {
        (instance_id, number): variables or {}
        for instance_id, number, variables in Execution.objects.filter(wanted).values_list(
            "instance_id", "number", "variables"
        )
    }


def _defaults(task: Task, variables: Mapping[str, Any]) -> dict[str, Any] | None:
    """The step form's current values as submitted data, or None when the form would not
    accept them as they are (a required field without a value, a value out of range), or
    the step is not one to approve without looking (a start event: the initiator's
    resubmission)."""
    graph = graph_for_definition(task.instance.definition_id)
    element = graph.elements.get(task.element_id)
    if element is None or element.kind is ElementKind.START_EVENT:
        return None
    if not has_step_form(element):
        return {}
    form = form_for(element, variables=variables)
    data = {
        name: form.get_initial_for_field(form_field, name)
        for name, form_field in form.fields.items()
    }
    data = {name: value for name, value in data.items() if value is not None}
    if not form_for(element, variables=variables, data=data).is_valid():
        return None
    return data


def step_defaults(task: Task) -> dict[str, Any] | None:
    """What approving ``task`` without opening it submits: its form's current values (the
    process variables named like the fields, else the fields' defaults); None when that
    form needs input (:func:`task_needs_input`)."""
    local = _local_variables([task]).get((task.instance_id, task.execution))
    return _defaults(task, _scope(task, local))


def task_needs_input(task: Task) -> bool:
    """Whether a person must fill in the step's form before approving it: some field is
    required and has no value (or a value the form refuses). A step without a form needs
    none; a start event (the initiator resubmitting) always does."""
    return step_defaults(task) is None


def tasks_needing_input(tasks: Sequence[Task]) -> set[int]:
    """The ids of ``tasks`` that need input (:func:`task_needs_input`), in two queries
    however many tasks there are (the instances are expected selected with the tasks)."""
    local = _local_variables(tasks)
    return {
        task.pk
        for task in tasks
        if _defaults(task, _scope(task, local.get((task.instance_id, task.execution)))) is None
    }


def candidate_labels(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(kind, value) of task candidates -> what a person reads: 张伟 for a user, the role's
    name (财务审核员) for a group, the department's name for ``dept``; unknown ones as
    written."""
    wanted = set(pairs)
    users = display_names(v for k, v in wanted if k == "user")
    groups = {v for k, v in wanted if k == "group"}
    roles: dict[str, str] = {}
    # (django-stubs resolves Role's own fields on Group: hence the ignores)
    found = Role.objects.filter(Q(code__in=groups) | Q(name__in=groups))  # type: ignore[misc]
    columns = found.values_list("code", "name", "name_en")  # type: ignore[misc]
    for code, name, name_en in columns:
        roles[code] = roles[name] = localized_name(name, name_en)
    departments = {
        d.code: d.display_name
        for d in Department.objects.filter(code__in={v for k, v in wanted if k == "dept"})
    }
    known = {"user": users, "group": roles, "dept": departments}
    return {(k, v): known.get(k, {}).get(v, v) for k, v in wanted}


def may_withdraw(user: User, instance: ProcessInstance) -> bool:
    """Whether to offer 撤回 to ``user``: the instance runs and the last completed step is
    theirs (or nothing was completed yet and they started it). ``instance_withdraw``
    checks the rest (the next handler has not acted) when it is taken."""
    if instance.state != InstanceState.ACTIVE:
        return False
    last = (
        Task.objects.filter(instance=instance, state=TaskState.COMPLETED)
        .order_by("-completed_at", "-pk")
        .values_list("completed_by", flat=True)
        .first()
    )
    return last == user.username if last is not None else instance.initiator == user.username
