"""The inbox's tabs (待办, 已办, 我发起的, 抄送我的), their filters, counts and keyset pages
(newest first, several tables merged), and what bulk approve may approve without input.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connections, router
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.keyset import Cursor, Page, Source, keyset_page, merge, window
from portal.models import Notification, User
from portal.selectors import at_most, people_matching
from workflow import participants
from workflow.bpmn.model import ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.forms import form_for, has_step_form
from workflow.models import (
    CarbonCopy,
    Execution,
    ExternalTask,
    ExternalTaskState,
    HistoryEvent,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.selectors.search import instances_matching
from workflow.selectors.status import rejected_by_diagram
from workflow.selectors.visibility import process_names
from workflow.signatures import signature_mode


def tasks_assigned(user: User) -> QuerySet[Task]:
    """The open tasks assigned to ``user`` (the personal half of 待办)."""
    return Task.objects.filter(state=TaskState.OPEN, assignee=user.username)


def tasks_todo(user: User) -> QuerySet[Task]:
    """待办: open tasks assigned to ``user``, and unclaimed tasks ``user`` may claim. Lists
    read the two halves as separate indexed sources (``tasks_assigned``,
    ``tasks_claimable``): one OR over both matches a busy role's every candidate row first."""
    return tasks_assigned(user) | tasks_claimable(user)


def tasks_done(user: User) -> QuerySet[Task]:
    """The tasks ``user`` completed (approved, rejected, returned, submitted: the decided
    half of 已办; :func:`tasks_handed` is the other)."""
    return Task.objects.filter(state=TaskState.COMPLETED, completed_by=user.username)


HANDED_KINDS = {
    "task-transferred": "transferred",
    "task-delegated": "delegated",
    "task-resolved": "resolved",
}
"""The history lines of a task ``user`` handed on without deciding it, with their outcome
in 已办: 转交 (transferred), 委派 (delegated), the delegate's 处理 (handed back)."""


def tasks_handed(user: User) -> QuerySet[HistoryEvent]:
    """The other half of 已办: the history lines of tasks ``user`` transferred, delegated or,
    as a delegate, handed back — one line per time. Served by the partial index
    ``history_handed_by`` (actor, at descending; only these kinds), page by page as the task
    half reads its own."""
    return HistoryEvent.objects.filter(actor=user.username, kind__in=list(HANDED_KINDS))


# --- the inbox ----------------------------------------------------------------------------------
#
# The page (workflow/views/inbox.py) and the API (``/api/v1/tasks/``) filter with the same
# functions. Every list is read as one or more *sources*, each an indexed query ordered by
# its own date column and id, merged in Python and cut by a keyset cursor: no OFFSET, no
# COUNT over a user's whole history.

URGENT_PRIORITY = 50
"""A task whose ``priority`` is above this is urgent (the engine's default is 50)."""


def urgent_tasks() -> Q:
    """Urgent tasks (加急): of a request its initiator marked urgent
    (``ProcessInstance.urgent``), or with a ``priority`` above :data:`URGENT_PRIORITY`."""
    return Q(instance__urgent=True) | Q(priority__gt=URGENT_PRIORITY)


def task_is_urgent(task: Task) -> bool:
    """Whether ``task`` (its instance selected with it) is urgent (:func:`urgent_tasks`)."""
    return task.instance.urgent or task.priority > URGENT_PRIORITY


Sort = Literal["new", "old", "due"]
Tab = Literal["todo", "done", "started", "copied"]


@dataclass(frozen=True)
class InboxFilter:
    """What a person narrowed the inbox to; an empty value does not filter.

    ``created_after``/``created_before`` bound the list's own date (when a task arrived,
    when I completed it, when an instance started, when I was copied); ``overdue`` keeps
    (True) or leaves out (False) overdue rows: an open task past its due date, an instance
    with one; ``urgent`` keeps (True) or leaves out (False) urgent tasks
    (:func:`urgent_tasks`); ``q`` searches the title, process name and business key (by
    index, every word: ``workflow.selectors.search``), the step name and the initiator's
    name; ``unread`` (copies) keeps unread (True) or read (False) ones."""

    process: str = ""
    created_after: datetime.datetime | None = None
    created_before: datetime.datetime | None = None
    overdue: bool | None = None
    urgent: bool | None = None
    q: str = ""
    unread: bool | None = None

    @cached_property
    def people(self) -> list[str] | QuerySet[User, Any]:
        """User names of the people ``q`` finds, read once for this filter (a request's
        sources share it): a list of at most :data:`PEOPLE_LISTED`, else the subquery."""
        names = at_most(people_matching(self.q).values_list("username", flat=True), PEOPLE_LISTED)
        return people_matching(self.q).values("username") if names is None else names

    @cached_property
    def instances(self) -> list[int] | None:
        """The ids of the instances ``q`` finds by their words or their initiator, read once
        by index for this filter, at most :data:`INSTANCES_LISTED`; None when there are more
        (or the people are too many to list): the sources then name them by a subquery.
        Either way a row's instance is not read to test it: 已办 with a rare word walked a
        person's whole history (35,881 rows) reading each row's instance, 200-300 ms
        (issue 16)."""
        people = self.people
        if not isinstance(people, list):
            return None
        found = ProcessInstance.objects.filter(
            instances_matching(self.q) | Q(initiator__in=people)
        ).values_list("pk", flat=True)
        return at_most(found, INSTANCES_LISTED)

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


PEOPLE_LISTED = 200
"""A search's people are read once and handed to each source as a list up to this many; a
word that names more (a department's name) stays a subquery."""

INSTANCES_LISTED = 1000
"""A search's instances (:attr:`InboxFilter.instances`) are named by id up to this many."""


def _found_instances(given: InboxFilter, field: str) -> Q:
    """The rows whose instance ``given.q`` finds by its words or its initiator; ``field``
    names the row's instance id (``pk`` on instances, ``instance_id`` on their rows)."""
    ids = given.instances
    if ids is not None:
        return Q(**{f"{field}__among": frozenset(ids)})
    found = instances_matching(given.q) | Q(initiator__in=given.people)
    if field == "pk":
        return found
    # more than a list: a correlated EXISTS, which PostgreSQL runs either way as the rows
    # call for: each row's instance looked up (a few hundred open tasks), or every match
    # read once into a hash (a history of 35,881 completed ones walked in its index)
    return Q(Exists(ProcessInstance.objects.filter(found, pk=OuterRef(field))))


def filter_tasks(
    rows: QuerySet[Task], given: InboxFilter, *, date_field: str = "created_at"
) -> QuerySet[Task]:
    """Tasks narrowed by ``given``: overdue is an open task past its due date; urgent a
    request marked urgent or a priority above :data:`URGENT_PRIORITY` (:func:`urgent_tasks`)."""
    if given.process:
        rows = rows.filter(definition_key=given.process)
    rows = _overdue(rows, given, Q(state=TaskState.OPEN, due_at__lt=timezone.now()))
    if given.urgent is not None:
        rows = rows.filter(urgent_tasks()) if given.urgent else rows.exclude(urgent_tasks())
    if given.q:
        rows = rows.filter(Q(name__icontains=given.q) | _found_instances(given, "instance_id"))
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
        rows = rows.filter(_found_instances(given, f"{path}pk"))
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


CLAIMABLE_LISTED = 1000
"""A page reads the tasks a person may claim once and names them by id up to this many."""


@dataclass(frozen=True)
class Claimable:
    """The tasks a person may claim, read once for a page: its list, its tab counts and its
    process filter each tested every open unclaimed task against the candidacy condition
    (four walks of a manager's 2,073 on the to-do page, issue 16); they test these ids.
    ``ids`` None: more than :data:`CLAIMABLE_LISTED`, each keeps the condition; ``keys``
    their processes (of the listed ones only when ``ids`` is None); ``urgent``: which of the
    listed ones are urgent (:func:`urgent_tasks`), so that the list's two parts (加急 first)
    each name their own tasks instead of testing every one's instance twice."""

    ids: list[int] | None
    keys: frozenset[str]
    urgent: frozenset[int] = frozenset()

    @classmethod
    def of(cls, rows: Sequence[tuple[int, str, bool]]) -> Claimable:
        keys = frozenset(key for _pk, key, _urgent in rows)
        if len(rows) > CLAIMABLE_LISTED:
            return cls(None, keys)
        urgent = frozenset(pk for pk, _key, is_urgent in rows if is_urgent)
        return cls([pk for pk, _key, _urgent in rows], keys, urgent)


def _claimable_rows(user: User) -> QuerySet[Task, Any]:
    urgent = ExpressionWrapper(urgent_tasks(), output_field=BooleanField())
    return tasks_claimable(user).values_list("pk", "definition_key", urgent)[: CLAIMABLE_LISTED + 1]


def claimable_read(user: User) -> Claimable:
    """What ``user`` may claim now, in one query (:class:`Claimable`)."""
    return Claimable.of(list(_claimable_rows(user)))


_OWN_INSTANCES = f"SELECT id FROM {ProcessInstance._meta.db_table} WHERE initiator = %s"  # noqa: S608  # a table name


def tasks_claimable(
    user: User, read: Claimable | None = None, *, urgent: bool | None = None
) -> QuerySet[Task]:
    """The unclaimed open tasks ``user`` may claim (the candidate half of 待办). On a request
    they started, only a candidate row naming them counts (``participants.task_candidacy``:
    the engine writes one only where the step lets the initiator act). ``read``: what
    :func:`claimable_read` found for this page: those tasks by id (still open and
    unclaimed), instead of testing every open unclaimed task again. ``urgent``: only the
    urgent ones (True) or the others (False)."""
    if read is not None and read.ids is not None:
        ids = read.ids
        if urgent is not None:  # urgent as read: no instance of theirs is read again
            ids = [pk for pk in ids if (pk in read.urgent) == urgent]
        return Task.objects.filter(pk__among=frozenset(ids), state=TaskState.OPEN, assignee="")
    if urgent is not None:
        rows = tasks_claimable(user)
        return rows.filter(urgent_tasks()) if urgent else rows.exclude(urgent_tasks())
    # The person's candidate rows on offer (a few of the hundreds of thousands kept after
    # their tasks ended), one index range per kind, so that the walk starts there and not at
    # every open unclaimed task of the company; their tasks tested again for being open and
    # unclaimed. A shared row (a role, a department) does not count on their own request:
    # the instances they started, by index, as a hashed set.
    own = RawSQL(_OWN_INSTANCES, [user.username])  # noqa: S611  # fixed text, the name as a parameter
    named = participants.candidate_task_ids(user, on_offer=True, named_only=True)
    return Task.objects.filter(
        pk__in=participants.candidate_task_ids(user, on_offer=True),
        state=TaskState.OPEN,
        assignee="",
    ).exclude(Q(instance_id__in=own) & ~Q(pk__in=named))


# --- keyset pages of merged sources --------------------------------------------------------------


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


# Rows of two tables with the same time: ours before the external ones.
RANK_TASK, RANK_EXTERNAL = 1, 0
URGENT_BAND = 10
"""Added to the rank of urgent rows in 待办: every urgent rank is above every plain one, so a
cursor says in which part of the list (urgent first, then the rest) its page ended."""


def _cursor_at(row: Any, source: Source) -> Cursor:
    return Cursor(getattr(row, source.field), source.rank, row.pk)


def _read_windows(
    windows: Sequence[tuple[Source, QuerySet[Any]]], belongs: Callable[[Source, Any], bool]
) -> list[tuple[Source, list[Any]]]:
    """The rows of each source's window (``portal.keyset.window``). The windows of tasks are
    read in ONE query (the task rows of a ``UNION ALL`` of the windows, each by its index,
    then each row given to the source it ``belongs`` to: the sources do not overlap);
    other tables' windows in a query each. 待办 has four task sources (mine and the ones I
    may claim, urgent and not): four queries a page before (issue 16)."""
    tasks = [(source, rows) for source, rows in windows if rows.model is Task]
    found: list[Task] = []
    parts: list[str] = []
    params: list[Any] = []
    for number, (_source, rows) in enumerate(tasks):
        try:
            sql, values = rows.values("pk").query.sql_with_params()
        except EmptyResultSet:  # a source that cannot hold a row (nothing to claim)
            continue
        parts.append(f"SELECT * FROM ({sql}) AS window{number}")  # noqa: S608  # Django-compiled SQL, values as parameters
        params.extend(values)
    if parts:
        union = RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611  # as above
        # with the variables of each task's own execution: what bulk approve would submit
        # (tasks_needing_input) is worked out without a query of its own
        local = Execution.objects.filter(
            instance_id=OuterRef("instance_id"), number=OuterRef("execution")
        ).values("variables")[:1]
        found = list(
            Task.objects.select_related("instance")
            .defer("data")
            .filter(pk__in=union)
            .annotate(execution_variables=Subquery(local))
        )
    read: list[tuple[Source, list[Any]]] = []
    for source, rows in windows:
        if rows.model is Task:
            read.append((source, [task for task in found if belongs(source, task)]))
        else:
            read.append((source, list(rows)))
    return read


def _urgent_first(
    urgent: Sequence[Source],
    plain: Sequence[Source],
    *,
    after: Cursor | None,
    size: int,
    ascending: bool,
    belongs: Callable[[Source, Any], bool],
) -> Page:
    """A keyset page of the ``urgent`` sources (ranks in :data:`URGENT_BAND`), then the
    ``plain`` ones, each part in its own order: a page that ends the urgent part fills up
    from the first plain rows. A cursor with an urgent rank continues the urgent part, any
    other the plain part; nothing is shown twice or skipped. The sources' windows are read
    together (:func:`_read_windows`, ``belongs``)."""
    if after is not None and after.rank < URGENT_BAND:
        read = _read_windows(
            [
                (source, window(source, after=after, size=size, ascending=ascending))
                for source in plain
            ],
            belongs,
        )
        return merge(read, size=size, ascending=ascending)
    read = _read_windows(
        [(source, window(source, after=after, size=size, ascending=ascending)) for source in urgent]
        + [
            (source, window(source, after=None, size=size, ascending=ascending)) for source in plain
        ],
        belongs,
    )
    first = merge(read[: len(urgent)], size=size, ascending=ascending)
    rest_read = read[len(urgent) :]
    if first.next is not None:
        return first
    room = size - len(first.rows)
    if room > 0:
        rest = merge(rest_read, size=room, ascending=ascending)
        return Page(first.rows + rest.rows, rest.next)
    # the urgent part ends exactly with this page: the next one starts the plain part
    if not any(rows for _source, rows in rest_read):
        return first
    kind, last = first.rows[-1]
    source = next(source for source in urgent if source.kind == kind)
    return Page(first.rows, _cursor_at(last, source))


def inbox_page(
    user: User,
    tab: Tab,
    given: InboxFilter,
    *,
    sort: Sort = "new",
    after: Cursor | None = None,
    size: int = 20,
    externals: bool = True,
    claimable: Claimable | None = None,
) -> InboxPage:
    """One page of an inbox tab for ``user``.

    - 待办 ``todo``: open tasks assigned to ``user`` (``task``), unclaimed ones they may
      claim (``claim``), and their open external tasks (``external``, left out when a
      process or urgency filter is set: they have neither). By arrival, or ``due`` soonest
      (tasks without a due date last).
    - 已办 ``done``: tasks ``user`` completed, by completion time.
    - 我发起的 ``started``: instances ``user`` started, by start time.
    - 抄送我的 ``copied``: copies to ``user``, by the time of the copy.

    ``sort`` ``new`` (default) or ``old``; ``due`` applies to the to-do tab only;
    ``externals`` False leaves other systems' tasks out of 待办; ``claimable``: what
    :func:`claimable_read` found for this request. The inbox page and the API's task list
    both read this.
    """
    name = user.username
    # names of processes come from process_names(): the definition (its XML) is not joined
    task_rows = Task.objects.select_related("instance").defer("data")
    sources: list[Source]
    if tab == "todo":
        field_name = "due_at" if sort == "due" else "created_at"
        mine = filter_tasks(tasks_assigned(user).select_related("instance").defer("data"), given)

        def to_claim(urgent: bool) -> QuerySet[Task]:
            rows = tasks_claimable(user, claimable, urgent=urgent)
            return filter_tasks(rows.select_related("instance").defer("data"), given)

        # 加急 first: the urgent tasks, then the others (and other systems' tasks)
        urgent = [
            Source(mine.filter(urgent_tasks()), field_name, RANK_TASK + URGENT_BAND, "task"),
            Source(to_claim(True), field_name, RANK_TASK + URGENT_BAND, "claim"),
        ]
        sources = [
            Source(mine.exclude(urgent_tasks()), field_name, RANK_TASK, "task"),
            Source(to_claim(False), field_name, RANK_TASK, "claim"),
        ]
        if externals and not given.process and given.urgent is None:
            theirs = filter_external_tasks(external_tasks_for(user), given)
            sources.append(Source(theirs, field_name, RANK_EXTERNAL, "external"))

        listed = claimable is not None and claimable.ids is not None

        def belongs(source: Source, task: Task) -> bool:
            # the sources' filters, on the row: mine or to claim, urgent (urgent_tasks) or
            # not; a task to claim urgent as the page read it, when it named them
            if task.assignee == name:
                kind, is_urgent = "task", task_is_urgent(task)
            elif listed:
                kind, is_urgent = "claim", task.pk in claimable.urgent  # type: ignore[union-attr]
            else:
                kind, is_urgent = "claim", task_is_urgent(task)
            return source.kind == kind and (source.rank >= URGENT_BAND) == is_urgent

        ordered = _urgent_first(
            urgent,
            sources,
            after=after,
            size=size,
            ascending=sort in ("old", "due"),
            belongs=belongs,
        )
        return InboxPage(
            ordered.rows,
            ordered.next,
            sort,
            date_field=field_name,
            kinds={source.kind for source in sources},
        )
    elif tab == "done":
        sort = "old" if sort == "old" else "new"
        done = task_rows.filter(state=TaskState.COMPLETED, completed_by=name)
        sources = [
            Source(
                filter_tasks(done, given, date_field="completed_at"), "completed_at", kind="done"
            ),
            Source(_handed(user, given), "at", RANK_HANDED, "handed"),
        ]
    elif tab == "started":
        sort = "old" if sort == "old" else "new"
        started = (
            ProcessInstance.objects.filter(initiator=name)
            .defer("variables")
            .annotate(rejected_by_diagram=rejected_by_diagram())
        )
        sources = [
            Source(
                filter_instances(started, given, path="", date_field="started_at"),
                "started_at",
                kind="instance",
            )
        ]
    else:
        sort = "old" if sort == "old" else "new"
        copies = (
            CarbonCopy.objects.filter(user=user)
            .select_related("instance")
            .defer("instance__variables")
            .annotate(rejected_by_diagram=rejected_by_diagram("instance__"))
        )
        if given.unread is not None:
            copies = copies.filter(read_at__isnull=given.unread)
        sources = [
            Source(
                filter_instances(copies, given, path="instance__", date_field="created_at"),
                "created_at",
                kind="copy",
            )
        ]
    ascending = sort in ("old", "due")
    if tab == "done":
        # the completed tasks' window as ids first (the person's history walked in the
        # index alone, ``task_done_by_completion``), then their rows
        read = _read_windows(
            [(s, window(s, after=after, size=size, ascending=ascending)) for s in sources],
            lambda _source, _task: True,
        )
        found = merge(read, size=size, ascending=ascending)
        found.rows = _done_rows(found.rows)
    else:
        found = keyset_page(sources, after=after, size=size, ascending=ascending)
    return InboxPage(
        found.rows,
        found.next,
        sort,
        date_field=sources[0].field,
        kinds={source.kind for source in sources},
    )


RANK_HANDED = 1
"""已办's rows of the history (handed on) after the completed tasks of the same moment."""


def _handed(user: User, given: InboxFilter) -> QuerySet[HistoryEvent]:
    """:func:`tasks_handed` narrowed by ``given`` (through their tasks: the history has no
    step name, priority or due date of its own)."""
    rows = tasks_handed(user)
    if given.overdue:
        return rows.none()  # 已办: nothing in it is overdue for this person
    if given.process:
        rows = rows.filter(definition_key=given.process)
    if given.urgent is not None:
        tasks = filter_tasks(Task.objects.all(), replace(given, overdue=None, process="", q=""))
        rows = rows.filter(task_id__in=tasks.values("pk"))
    if given.q:
        # each of the person's lines tests its own task and instance (a subquery of every
        # task the words find would read the whole table)
        named = Task.objects.filter(pk=OuterRef("task_id"), name__icontains=given.q)
        rows = rows.filter(Exists(named) | _found_instances(given, "instance_id"))
    return _dated(rows, given, "at")


def _done_rows(rows: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """已办's page as ``done`` rows of tasks, each with ``done_at`` and ``done_outcome``
    (what this person did: approved, rejected, returned, transferred, delegated, resolved
    ...); the history lines become their tasks (one query for the page)."""
    wanted = {row.task_id for kind, row in rows if kind == "handed"}
    tasks = (
        Task.objects.select_related("instance").defer("data").in_bulk(list(wanted))
        if wanted
        else {}
    )
    result: list[tuple[str, Any]] = []
    for kind, row in rows:
        if kind == "handed":
            found = tasks.get(row.task_id)
            if found is None:  # pragma: no cover - history outlives its task only in a race
                continue
            task = copy.copy(found)  # the same task may be in the page twice
            vars(task).update(done_at=row.at, done_outcome=HANDED_KINDS[row.kind])
        else:
            task = row
            vars(task).update(done_at=row.completed_at, done_outcome=row.outcome)
        result.append(("done", task))
    return result


COUNT_CAP = 100
"""Counts stop here (shown as "99+"): each is an indexed count over at most this many rows,
however long a person's history is."""


def _counts_sql() -> dict[str, str]:
    tables = {
        "task": Task._meta.db_table,
        "external": ExternalTask._meta.db_table,
        "copy": CarbonCopy._meta.db_table,
        "notification": Notification._meta.db_table,
    }
    capped = "(SELECT COUNT(*) FROM (SELECT id FROM {table} WHERE {where} LIMIT {cap}) AS capped)"
    parts = {
        "assigned": ("task", "state = %s AND assignee = %s"),  # tasks_assigned
        "external": ("external", "assignee_id = %s AND state = %s"),  # external_tasks_for
        "unread": ("copy", "user_id = %s AND read_at IS NULL"),  # copies not read
    }
    found = {
        name: capped.format(table=tables[table], where=where, cap=COUNT_CAP)
        for name, (table, where) in parts.items()
    }
    # portal.selectors.unread_notifications, counted whole
    template = "(SELECT COUNT(*) FROM {notification} WHERE recipient_id = %s AND read_at IS NULL)"
    found["notifications"] = template.format(**tables)
    return found


_COUNTS = _counts_sql()


def inbox_counts(
    user: User, *, notifications: bool = False, claimable: Claimable | None = None
) -> dict[str, int]:
    """The numbers on the tabs, each at most :data:`COUNT_CAP`: ``todo`` (my open tasks,
    the ones I may claim, my open external tasks) and ``copied`` (unread copies).
    ``notifications``: also ``notifications``, the bell's number (its whole count, as
    ``portal.selectors.unread_notification_count``), read in the same query for a page
    that shows both; ``claimable``: as read for this request (:func:`claimable_read`).

    ONE query (``SELECT (SELECT COUNT(*) FROM (... LIMIT 100)), ...``): the tab bar and the
    navigation's badge are on every page, so the counts cost one round trip, not one per
    source, each an indexed read of at most ``COUNT_CAP`` rows. SQL of a fixed text but
    for the tasks to claim: building and compiling the other sources with the ORM took
    longer than the query (issue 16)."""
    parts = [_COUNTS["assigned"]]
    params: list[Any] = [TaskState.OPEN, user.username]
    try:
        sql, values = (
            tasks_claimable(user, claimable).values("pk")[:COUNT_CAP].query.sql_with_params()
        )
    except EmptyResultSet:  # nothing to claim
        parts.append("0")
    else:
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")  # noqa: S608  # Django-compiled SQL, values as parameters
        params.extend(values)
    parts += [_COUNTS["external"], _COUNTS["unread"]]
    params += [user.pk, ExternalTaskState.OPEN, user.pk]
    if notifications:
        parts.append(_COUNTS["notifications"])
        params.append(user.pk)
    with connections[router.db_for_read(Task)].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    assigned, to_claim, external, unread = (int(value) for value in row[:4])
    found = {"todo": min(assigned + to_claim + external, COUNT_CAP), "copied": unread}
    if notifications:
        found["notifications"] = int(row[4])
    return found


def _process_keys_sql() -> str:
    tables = {
        "task": Task._meta.db_table,
        "instance": ProcessInstance._meta.db_table,
        "copy": CarbonCopy._meta.db_table,
    }
    # (0, key, FALSE) rows, as the claimable tasks' (id, key, urgent): of their open tasks;
    # of a long history, the processes of the latest completed tasks (an indexed range);
    # of the instances they started and the ones they were copied on
    template = (
        "SELECT 0, definition_key, FALSE FROM {task} WHERE assignee = %s AND state = %s "
        "UNION SELECT * FROM (SELECT 0, definition_key, FALSE FROM {task} "
        "WHERE completed_by = %s ORDER BY completed_at DESC LIMIT 500) AS done "
        "UNION SELECT 0, definition_key, FALSE FROM {instance} WHERE initiator = %s "
        "UNION SELECT 0, i.definition_key, FALSE FROM {copy} c "
        "JOIN {instance} i ON i.id = c.instance_id WHERE c.user_id = %s"
    )
    return template.format(**tables)


_PROCESS_KEYS = _process_keys_sql()


def inbox_process_keys(user: User) -> tuple[set[str], Claimable]:
    """The keys of the processes that appear in ``user``'s inbox: of their open tasks, the
    tasks they may claim, their latest 500 completed tasks, their instances and copies;
    with what they may claim (:func:`claimable_read`), read in the same query."""
    claimable_sql, claimable_params = _claimable_rows(user).query.sql_with_params()
    with connections[router.db_for_read(Task)].cursor() as cursor:
        cursor.execute(
            f"{_PROCESS_KEYS} UNION SELECT * FROM ({claimable_sql}) AS claimable",  # noqa: S608  # Django-compiled SQL, values as parameters
            [
                user.username,
                TaskState.OPEN,
                user.username,
                user.username,
                user.pk,
                *claimable_params,
            ],
        )
        rows = cursor.fetchall()
    claimable = Claimable.of([(pk, key, bool(urgent)) for pk, key, urgent in rows if pk])
    keys = {key for _pk, key, _urgent in rows}
    if claimable.ids is None:  # more than listed: the processes of all of them
        keys |= set(tasks_claimable(user).values_list("definition_key", flat=True).distinct())
    return keys, claimable


def inbox_processes(
    user: User, *, keys: set[str] | None = None, names: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(key, name) of the processes that appear in ``user``'s inbox
    (:func:`inbox_process_keys`), by name. ``keys`` and ``names`` (``process_names`` of
    them): as read already for the same request, not read again."""
    if keys is None:
        keys, _claimable = inbox_process_keys(user)
    if names is None:
        names = process_names(keys)
    return sorted(((key, names.get(key) or key) for key in keys), key=lambda pair: pair[1])


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
    resubmission; a step that requires a handwritten signature)."""
    graph = graph_for_definition(task.instance.definition_id)
    element = graph.elements.get(task.element_id)
    if element is None or element.kind is ElementKind.START_EVENT:
        return None
    if signature_mode(element) == "required":
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
    """The ids of ``tasks`` that need input (:func:`task_needs_input`), in one query
    however many tasks there are (the instances are expected selected with the tasks),
    none when each task was read with ``execution_variables`` (the inbox's to-do list)."""
    if all(hasattr(task, "execution_variables") for task in tasks):
        local = {
            (task.instance_id, task.execution): task.execution_variables or {}  # type: ignore[attr-defined]
            for task in tasks
        }
    else:
        local = _local_variables(tasks)
    return {
        task.pk
        for task in tasks
        if _defaults(task, _scope(task, local.get((task.instance_id, task.execution)))) is None
    }


def external_tasks_for(
    user: User, *, state: str = ExternalTaskState.OPEN
) -> QuerySet[ExternalTask]:
    """The external tasks assigned to ``user`` (open ones by default; "" for all)."""
    tasks = ExternalTask.objects.filter(assignee=user)
    return tasks.filter(state=state) if state else tasks
