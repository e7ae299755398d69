"""Reads of the monitoring console: the instance list's filters and rows, incidents, the
job queue's health and the process statistics (issue 5, item 6).

Everything here is for process administrators (the views check ``is_process_admin``); the
querysets are not scoped to a user. Statistics are computed by the database with aggregate
SQL (``GROUP BY``), never by looping over every row in Python, so they stay fast with
hundreds of thousands of instances; Python only loops over the groups (days, processes,
steps, departments).

Durations and p90: the 90th percentile is the *continuous* percentile (linear
interpolation between the two nearest ranks, as ``percentile_cont(0.9)``). PostgreSQL
computes it natively; on other databases (SQLite, the embedded default) the same value is
computed with window functions: each value's rank in its group (``ROW_NUMBER``) and the
group's size (``COUNT(*) OVER``) pick the two rows around position ``0.9 * (n - 1)``, which
are interpolated in one ``SUM(CASE ...)`` per group. Both give the same numbers, so the
tests hold on either database.

Sources: an instance's duration is ``ended_at - started_at`` of completed instances (the
``(state, ended_at)`` index finds them); a step's duration is the ``duration_ms`` of its
``activity`` history rows (written when an activity instance ends, cancelled ones left
out); the diagram's heat is the average of those per element for the instances of one
version.

Units: the SQL works in milliseconds (``duration_ms``, and the instance durations computed
as milliseconds), every :class:`DurationStats` and :class:`Heat` is in seconds. Pages write
them with ``portal.charts.human_duration`` (2天3小时), and a chart's bars are scaled to one
unit with its axis (``portal.charts.duration_chart``): the old charts drew bars from the
raw seconds but labelled them rounded to whole seconds, so sub-second steps (requests
approved by a script) all read "0 秒" beside bars of different lengths.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Count, F, FloatField, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Department, User
from portal.selectors import at_most, people_named
from workflow.bpmn.model import ElementKind
from workflow.bpmn.render import Highlight
from workflow.engine.cache import graph_for_definition
from workflow.models import (
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.selectors.search import instances_matching
from workflow.selectors.visibility import process_names

# elements where a token waits (their activity rows measure a wait); gateways and
# throwing/start/end events pass at once
WAIT_KINDS = tuple(
    kind.value
    for kind in ElementKind
    if kind.is_activity or kind is ElementKind.INTERMEDIATE_CATCH_EVENT
)


# --- the instance list ------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFilter:
    """The console's instance filters; every field optional (empty: no filter)."""

    key: str = ""
    version: int | None = None
    state: str = ""
    started_after: datetime.date | None = None
    started_before: datetime.date | None = None
    older_than_days: int | None = None
    initiator: str = ""
    department: Department | None = None
    search: str = ""


def _day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the portal's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


DEPARTMENT_LISTED = 5000
"""The console's department filter names up to this many people by user name."""


def console_instances(
    filters: InstanceFilter, *, now: datetime.datetime | None = None
) -> QuerySet[ProcessInstance]:
    """Instances matching ``filters``, newest first (``-started_at, -id``: the keyset order),
    with the count of their open incidents as ``open_incidents``."""
    now = now or timezone.now()
    found = ProcessInstance.objects.select_related("definition")
    if filters.key:
        found = found.filter(definition_key=filters.key)
    if filters.version is not None:
        found = found.filter(definition__version=filters.version)
    if filters.state:
        found = found.filter(state=filters.state)
    if filters.started_after is not None:
        found = found.filter(started_at__gte=_day_start(filters.started_after))
    if filters.started_before is not None:
        found = found.filter(
            started_at__lt=_day_start(filters.started_before + datetime.timedelta(days=1))
        )
    if filters.older_than_days is not None:
        found = found.filter(started_at__lt=now - datetime.timedelta(days=filters.older_than_days))
    if filters.initiator:
        # the few people matched, as a list: their instances are read through the
        # (initiator, started_at) index rather than by walking every instance newest first
        # (matched by their name, user name or employee number: User.search_text)
        people = list(people_named(filters.initiator).values_list("username", flat=True))
        found = found.filter(initiator__among=frozenset(people))
    if filters.department is not None:
        # the department's people named as a list too (up to DEPARTMENT_LISTED): the
        # database then weighs walking the newest instances against reading each person's,
        # as their number says; as a subquery it read every instance of a department of
        # 1,395 people (27,843) and sorted them for a page of 25 (97 ms at 1M tasks). The
        # list is one parameter (``__among``): a statement of 1,395 placeholders was parsed
        # and planned afresh on every page
        members = User.objects.filter(department__path__startswith=filters.department.path)
        names = at_most(members.values_list("username", flat=True), DEPARTMENT_LISTED)
        found = found.filter(
            Q(initiator__in=members.values("username"))
            if names is None
            else Q(initiator__among=frozenset(names))
        )
    if filters.search.strip():
        text = filters.search.strip()
        # a whole business key through its own index; words of the title, process name or
        # business key through the text index
        match = Q(business_key=text) | instances_matching(text)
        if text.isdigit():
            match |= Q(pk=int(text))
        found = found.filter(match)
    open_incidents = (
        Incident.objects.filter(instance=OuterRef("pk"), resolved_at__isnull=True)
        .order_by()
        .values("instance")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return found.annotate(open_incidents=Subquery(open_incidents)).order_by("-started_at", "-pk")


def process_choices() -> list[tuple[str, str]]:
    """(key, name) of every deployed process, by name: the name of the latest version (the
    key where it has none). The key is for machines; a person reads the name. Only when two
    processes share a name does the key follow it, to tell them apart."""
    keys = ProcessDefinition.objects.order_by().values_list("key", flat=True).distinct()
    names = process_names(keys)
    taken: dict[str, int] = {}
    for name in names.values():
        taken[name] = taken.get(name, 0) + 1
    labelled = [
        (key, f"{name} ({key})" if taken[name] > 1 and name != key else name)
        for key, name in names.items()
    ]
    return sorted(labelled, key=lambda pair: (pair[1].casefold(), pair[0]))


def main_flow_nodes(definition_id: int) -> list[tuple[str, str]]:
    """(element id, label) of the steps an instance of this version may be moved to: the
    activities and start events of the process's top level (what ``instance_move``
    accepts), in diagram order."""
    graph = graph_for_definition(definition_id)
    nodes = []
    for element in graph.elements.values():
        if element.parent_id is not None:
            continue
        if element.kind.is_activity or element.kind is ElementKind.START_EVENT:
            label = f"{element.name} ({element.id})" if element.name else element.id
            nodes.append((element.id, label))
    return nodes


def element_name(definition_id: int | None, element_id: str) -> str:
    """The name of a step of a version (its id when unnamed or unknown)."""
    if definition_id is None or not element_id:
        return element_id
    element = graph_for_definition(definition_id).elements.get(element_id)
    return (element.name if element is not None else "") or element_id


# --- incidents --------------------------------------------------------------------------------


def console_incidents(*, resolved: bool = False, key: str = "") -> QuerySet[Incident]:
    """Open incidents (or resolved ones), newest first (the keyset order ``-created_at,
    -id``), with their instance and definition."""
    found = Incident.objects.filter(resolved_at__isnull=not resolved).select_related(
        "instance", "instance__definition"
    )
    if key:
        found = found.filter(instance__definition_key=key)
    return found.order_by("-created_at", "-pk")


def incident_jobs(incidents: Sequence[Incident]) -> dict[int, Job]:
    """The failed jobs of a page of incidents, by job id (retries and attempts)."""
    ids = [i.job_id for i in incidents if i.job_id]
    return {job.pk: job for job in Job.objects.filter(pk__in=ids)}


# --- the job queue ----------------------------------------------------------------------------


@dataclass
class QueueCounts:
    """How many jobs are in each state (see :func:`job_health`)."""

    due: int = 0
    held: int = 0
    scheduled: int = 0
    running: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.due + self.held + self.scheduled + self.running + self.failed


@dataclass
class JobHealth:
    total: QueueCounts
    by_kind: list[tuple[str, str, QueueCounts]]  # (kind, label, counts)
    oldest_due_at: datetime.datetime | None
    open_incidents: int
    now: datetime.datetime

    @property
    def oldest_due_age(self) -> datetime.timedelta | None:
        if self.oldest_due_at is None:
            return None
        return max(self.now - self.oldest_due_at, datetime.timedelta(0))


def job_health(*, now: datetime.datetime | None = None) -> JobHealth:
    """The job queue at a glance, in one grouped query. A job is

    - *running* while a worker holds its lease (``locked_until`` in the future);
    - *failed* when its retries are spent (``retries = 0``: it has an open incident and
      waits for someone to retry it);
    - *held* when due but its instance is suspended (the claim skips it until resumed);
    - *due* when ``due_at`` has passed and a worker may claim it now (a worker that died
      leaves an expired lease: due again);
    - *scheduled* when ``due_at`` is in the future (timers, a retry's back-off).
    """
    now = now or timezone.now()
    leased = Q(locked_until__gte=now)
    failed = Q(retries=0) & ~leased
    suspended = Q(instance__state=InstanceState.SUSPENDED)
    live = ~leased & Q(retries__gt=0)
    due = live & Q(due_at__lte=now)
    rows = (
        Job.objects.order_by()
        .values("kind")
        .annotate(
            running=Count("pk", filter=leased),
            failed=Count("pk", filter=failed),
            held=Count("pk", filter=due & suspended),
            due=Count("pk", filter=due & ~suspended),
            scheduled=Count("pk", filter=live & Q(due_at__gt=now)),
        )
    )
    total = QueueCounts()
    labels = dict(JobKind.choices)
    by_kind = []
    for row in rows:
        counts = QueueCounts(
            due=row["due"],
            held=row["held"],
            scheduled=row["scheduled"],
            running=row["running"],
            failed=row["failed"],
        )
        for name in ("due", "held", "scheduled", "running", "failed"):
            setattr(total, name, getattr(total, name) + getattr(counts, name))
        by_kind.append((row["kind"], str(labels.get(row["kind"], row["kind"])), counts))
    by_kind.sort(key=lambda item: item[0])
    oldest = Job.objects.filter(due & ~Q(instance__state=InstanceState.SUSPENDED)).aggregate(
        oldest=Min("due_at")
    )["oldest"]
    return JobHealth(
        total=total,
        by_kind=by_kind,
        oldest_due_at=oldest,
        open_incidents=Incident.objects.filter(resolved_at__isnull=True).count(),
        now=now,
    )


# --- statistics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """Local calendar days ``first`` .. ``last``, both included."""

    first: datetime.date
    last: datetime.date

    @classmethod
    def last_days(cls, days: int = 30, *, today: datetime.date | None = None) -> DateRange:
        today = today or timezone.localdate()
        return cls(today - datetime.timedelta(days=days - 1), today)

    @property
    def start(self) -> datetime.datetime:
        return _day_start(self.first)

    @property
    def end(self) -> datetime.datetime:
        """The first moment after the range."""
        return _day_start(self.last + datetime.timedelta(days=1))

    def days(self) -> list[datetime.date]:
        count = (self.last - self.first).days + 1
        return [self.first + datetime.timedelta(days=n) for n in range(count)]


@dataclass(frozen=True)
class DayCount:
    day: datetime.date
    started: int
    completed: int


def instances_per_day(period: DateRange) -> list[DayCount]:
    """Instances started and instances completed on each local day of ``period`` (days
    with none included, as zeros). Two grouped queries."""
    tz = timezone.get_current_timezone()
    started = dict(
        ProcessInstance.objects.filter(started_at__gte=period.start, started_at__lt=period.end)
        .annotate(day=TruncDate("started_at", tzinfo=tz))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    completed = dict(
        ProcessInstance.objects.filter(
            state=InstanceState.COMPLETED, ended_at__gte=period.start, ended_at__lt=period.end
        )
        .annotate(day=TruncDate("ended_at", tzinfo=tz))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return [DayCount(day, started.get(day, 0), completed.get(day, 0)) for day in period.days()]


@dataclass(frozen=True)
class DurationStats:
    """Durations of one group (a process, a step), in seconds."""

    group: str
    label: str
    count: int
    average: float
    p90: float


P90_POSTGRESQL = (
    "SELECT g, COUNT(*), AVG(v), percentile_cont(0.9) WITHIN GROUP (ORDER BY v) "
    "FROM ({inner}) s GROUP BY g"
)
# position 0.9 * (n - 1) among the group's values in order; interpolate between the value at
# floor(position) and the next one (what percentile_cont does)
P90_PORTABLE = (
    "SELECT g, COUNT(*), AVG(v), "
    "SUM(CASE WHEN rn = lo THEN v * (1 - pos + lo) ELSE 0 END) "
    "+ SUM(CASE WHEN rn = lo + 1 THEN v * (pos - lo) ELSE 0 END) "
    "FROM (SELECT g, v, rn, pos, CAST(pos AS INTEGER) AS lo FROM ("
    "SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) - 1 AS rn, "
    "0.9 * (COUNT(*) OVER (PARTITION BY g) - 1) AS pos "
    "FROM ({inner}) s) r) q GROUP BY g"
)


def _grouped_durations(rows: QuerySet[Any]) -> dict[str, tuple[int, float, float]]:
    """Count, average and continuous 90th percentile of ``v`` per ``g`` of ``rows`` (a
    ``values("g", "v")`` queryset), computed by the database (see the module docstring)."""
    inner, params = rows.values("g", "v").query.sql_with_params()
    template = P90_POSTGRESQL if connection.vendor == "postgresql" else P90_PORTABLE
    sql = template.format(inner=inner)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            str(g): (int(n), float(avg or 0), float(p90 or 0))
            for g, n, avg, p90 in cursor.fetchall()
        }


def _milliseconds_between(start: str, end: str) -> Any:
    """SQL for the milliseconds from column ``start`` to column ``end``."""
    if connection.vendor == "postgresql":
        sql = f"EXTRACT(EPOCH FROM ({end} - {start})) * 1000"
    else:  # SQLite stores ISO text; julianday reads it
        sql = f"(julianday({end}) - julianday({start})) * 86400000.0"
    return RawSQL(sql, (), output_field=FloatField())  # noqa: S611  # quoted column names only


def duration_by_process(period: DateRange) -> list[DurationStats]:
    """Average and p90 time from start to end of the instances completed in ``period``, per
    process, slowest average first."""
    table = connection.ops.quote_name(ProcessInstance._meta.db_table)
    started = f"{table}.{connection.ops.quote_name('started_at')}"
    ended = f"{table}.{connection.ops.quote_name('ended_at')}"
    rows = ProcessInstance.objects.filter(
        state=InstanceState.COMPLETED, ended_at__gte=period.start, ended_at__lt=period.end
    ).annotate(g=F("definition_key"), v=_milliseconds_between(started, ended))
    stats = _grouped_durations(rows)
    names = dict(process_choices())
    result = [
        DurationStats(key, names.get(key, key), n, avg / 1000, p90 / 1000)
        for key, (n, avg, p90) in stats.items()
    ]
    return sorted(result, key=lambda s: (-s.average, s.group))


def _step_rows(period: DateRange) -> QuerySet[HistoryEvent]:
    return (
        HistoryEvent.objects.filter(
            kind="activity",
            element_kind__in=WAIT_KINDS,
            at__gte=period.start,
            at__lt=period.end,
            duration_ms__isnull=False,
        )
        .exclude(outcome="cancelled")
        .annotate(g=F("element_id"), v=F("duration_ms"))
    )


def _step_labels(definition_id: int | None) -> dict[str, str]:
    if definition_id is None:
        return {}
    graph = graph_for_definition(definition_id)
    return {e.id: e.name or e.id for e in graph.elements.values()}


def latest_definition_id(key: str) -> int | None:
    return (
        ProcessDefinition.objects.filter(key=key)
        .order_by("-version")
        .values_list("pk", flat=True)
        .first()
    )


def duration_by_step(key: str, period: DateRange) -> list[DurationStats]:
    """Average and p90 time spent in each step (activity, or catching event) of process
    ``key``, from the activity history rows that ended in ``period`` (cancelled ones left
    out), slowest average first. Names from the latest version."""
    stats = _grouped_durations(_step_rows(period).filter(definition_key=key))
    labels = _step_labels(latest_definition_id(key))
    result = [
        DurationStats(element, labels.get(element, element), n, avg / 1000, p90 / 1000)
        for element, (n, avg, p90) in stats.items()
    ]
    return sorted(result, key=lambda s: (-s.average, s.group))


@dataclass(frozen=True)
class DepartmentCount:
    department_id: int | None
    label: str
    count: int


def overdue_by_department(*, now: datetime.datetime | None = None) -> list[DepartmentCount]:
    """Open tasks past their due date now, by the department of their assignee (unclaimed
    tasks and assignees without a department in one "no department" row), most first."""
    now = now or timezone.now()
    department = User.objects.filter(username=OuterRef("assignee")).values("department_id")[:1]
    rows = (
        Task.objects.filter(state=TaskState.OPEN, due_at__lt=now)
        .annotate(dept=Subquery(department))
        .order_by()
        .values("dept")
        .annotate(n=Count("pk"))
        .values_list("dept", "n")
    )
    counts = dict(rows)
    names = {
        d.pk: d.display_name for d in Department.objects.filter(pk__in=[k for k in counts if k])
    }
    result = [
        DepartmentCount(dept, names.get(dept, "") if dept else _("No department"), n)
        for dept, n in counts.items()
    ]
    return sorted(result, key=lambda d: (-d.count, d.label))


@dataclass(frozen=True)
class Heat:
    """The diagram heatmap of one version: per element the average wait (seconds), how
    many activity rows it comes from, and the heat 0..1 (the slowest element is 1)."""

    average: Mapping[str, float]
    count: Mapping[str, int]
    heat: Mapping[str, float]

    def highlight(self, badge: Any) -> Highlight:
        """The :class:`Highlight` for ``render_svg``; ``badge(seconds)`` writes a badge."""
        return Highlight(
            heat=dict(self.heat), badges={e: badge(s) for e, s in self.average.items()}
        )


def normalise(values: Mapping[str, float]) -> dict[str, float]:
    """Scale to 0..1 by the largest value (all 0 when the largest is 0)."""
    top = max(values.values(), default=0.0)
    if top <= 0:
        return {k: 0.0 for k in values}
    return {k: v / top for k, v in values.items()}


def wait_heat(definition_id: int, period: DateRange) -> Heat:
    """Where instances of version ``definition_id`` wait longest: the average duration of
    each waiting element's activity rows that ended in ``period``, normalised to 0..1."""
    stats = _grouped_durations(
        _step_rows(period).filter(
            instance_id__in=ProcessInstance.objects.filter(definition_id=definition_id).values("pk")
        )
    )
    average = {element: avg / 1000 for element, (_n, avg, _p90) in stats.items()}
    return Heat(
        average=average,
        count={element: n for element, (n, _avg, _p90) in stats.items()},
        heat=normalise(average),
    )


def definition_versions(key: str) -> list[ProcessDefinition]:
    """The versions of process ``key``, newest first."""
    return list(ProcessDefinition.objects.filter(key=key).order_by("-version"))


def open_tasks_of(instance_ids: Sequence[int]) -> QuerySet[Task]:
    """The open tasks of these instances (what an administrator may reassign)."""
    return Task.objects.filter(instance_id__in=instance_ids, state=TaskState.OPEN).order_by(
        "instance_id", "created_at", "pk"
    )
