"""What the workflow shows on a person's 工作台 (the portal's home): the first few of their
to-dos (urgent first) with the inbox's counts, their latest requests with their status in
words, the copies they have not read, and the processes they start most.

Each read is a few indexed queries cut to a handful of rows, whatever a person's history:
the home page is opened more than any other, so it never counts or loops over everything.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import F, QuerySet

from portal.models import User
from workflow import links
from workflow.models import CarbonCopy, InstanceState, ProcessInstance, Task
from workflow.selectors import catalogue, inbox
from workflow.selectors.status import Status, statuses
from workflow.selectors.visibility import display_names, instances_started, process_names

HOME_ROWS = 5
QUICK_STARTS = 6
OWN_HISTORY = 200
"""How many of a person's latest requests say which processes they start most."""
EVERYONE_HISTORY = 500
"""How many of everyone's latest requests say which processes are used most (the quick
starts of a person who has started few or none)."""


@dataclass(frozen=True)
class TodoRow:
    """One of my to-dos: a task of ours (``url`` its page) or another system's."""

    title: str
    process: str
    step: str
    initiator: str
    url: str
    arrived_at: datetime.datetime
    due_at: datetime.datetime | None
    urgent: bool
    overdue: bool
    external: bool = False


@dataclass(frozen=True)
class TodoSummary:
    """The top of 待办 and the numbers on the inbox's tabs (each at most
    :data:`inbox.COUNT_CAP`): to-dos, unread copies, my requests in approval."""

    rows: list[TodoRow]
    todo: int
    unread_copies: int
    running: int
    cap: int = inbox.COUNT_CAP


def _open_tasks(rows: QuerySet[Task]) -> list[Task]:
    # urgent first (加急, or a priority above the default), then the newest
    return list(
        rows.select_related("instance")
        .defer("data", "instance__variables")
        .order_by(F("instance__urgent").desc(), "-priority", "-created_at", "-pk")[:HOME_ROWS]
    )


def todo_summary(user: User, *, now: datetime.datetime) -> TodoSummary:
    """The first :data:`HOME_ROWS` of ``user``'s to-dos, urgent ones first, then the newest:
    tasks assigned to them, tasks of their roles or departments they may take, and other
    systems' tasks; with the counts of the inbox's tabs."""
    claimable = inbox.claimable_read(user)  # once, for the rows and the counts
    tasks = _open_tasks(inbox.tasks_assigned(user)) + _open_tasks(
        inbox.tasks_claimable(user, claimable)
    )
    externals = list(inbox.external_tasks_for(user).order_by("-created_at", "-pk")[:HOME_ROWS])
    names = process_names({t.definition_key for t in tasks})
    people = display_names(t.instance.initiator for t in tasks)
    rows = [
        TodoRow(
            title=task.instance.title
            or task.instance.business_key
            or f"{names.get(task.definition_key, task.definition_key)} #{task.instance_id}",
            process=names.get(task.definition_key, task.definition_key),
            step=task.name,
            initiator=people.get(task.instance.initiator, ""),
            url=links.task_url(task.pk),
            arrived_at=task.created_at,
            due_at=task.due_at,
            urgent=inbox.task_is_urgent(task),
            overdue=bool(task.due_at and task.due_at < now),
        )
        for task in tasks
    ]
    rows += [
        TodoRow(
            title=task.title,
            process=task.source,
            step=task.category,
            initiator="",
            url=task.url,
            arrived_at=task.created_at,
            due_at=task.due_at,
            urgent=False,
            overdue=bool(task.due_at and task.due_at < now),
            external=True,
        )
        for task in externals
    ]
    rows.sort(key=lambda r: (r.urgent, r.arrived_at), reverse=True)
    counts = inbox.inbox_counts(user, claimable=claimable)
    running = (
        instances_started(user)
        .filter(state=InstanceState.ACTIVE)
        .values("pk")[: inbox.COUNT_CAP]
        .count()
    )
    return TodoSummary(
        rows=rows[:HOME_ROWS],
        todo=counts["todo"],
        unread_copies=counts["copied"],
        running=running,
    )


@dataclass(frozen=True)
class RequestRow:
    """One of my requests and its status in words (审批中, 已通过 ...)."""

    title: str
    process: str
    url: str
    started_at: datetime.datetime
    status: Status
    urgent: bool


def my_requests(user: User) -> list[RequestRow]:
    """``user``'s latest :data:`HOME_ROWS` requests, newest first, each with its status."""
    instances = list(instances_started(user).order_by("-started_at", "-pk")[:HOME_ROWS])
    names = process_names({i.definition_key for i in instances})
    found = statuses(instances)
    return [
        RequestRow(
            title=instance.title
            or instance.business_key
            or f"{names.get(instance.definition_key, instance.definition_key)} #{instance.pk}",
            process=names.get(instance.definition_key, instance.definition_key),
            url=links.instance_url(instance.pk),
            started_at=instance.started_at,
            status=found[instance.pk],
            urgent=instance.urgent,
        )
        for instance in instances
    ]


@dataclass(frozen=True)
class CopyRow:
    """A copy (抄送) ``user`` has not read yet."""

    title: str
    process: str
    url: str
    sent_by: str
    copied_at: datetime.datetime


def unread_copies(user: User) -> list[CopyRow]:
    """The latest :data:`HOME_ROWS` copies to ``user`` not read yet, newest first."""
    copies = list(
        CarbonCopy.objects.filter(user=user, read_at__isnull=True)
        .select_related("instance")
        .defer("instance__variables")
        .order_by("-created_at", "-pk")[:HOME_ROWS]
    )
    names = process_names({c.instance.definition_key for c in copies})
    people = display_names(c.sent_by for c in copies)
    rows = []
    for copy in copies:
        instance = copy.instance
        process = names.get(instance.definition_key, instance.definition_key)
        rows.append(
            CopyRow(
                title=instance.title or instance.business_key or f"{process} #{instance.pk}",
                process=process,
                url=links.instance_url(instance.pk),
                sent_by=people.get(copy.sent_by, ""),
                copied_at=copy.created_at,
            )
        )
    return rows


_MOST_STARTED_TEMPLATE = """
SELECT 1, definition_key, COUNT(*), MAX(started_at) FROM (
    SELECT definition_key, started_at FROM {table} WHERE initiator = %s
    ORDER BY started_at DESC LIMIT {own}
) AS own GROUP BY definition_key
UNION ALL
SELECT 0, definition_key, COUNT(*), MAX(started_at) FROM (
    SELECT definition_key, started_at FROM {table} ORDER BY started_at DESC LIMIT {everyone}
) AS everyone GROUP BY definition_key
"""
_MOST_STARTED = _MOST_STARTED_TEMPLATE.format(
    table=ProcessInstance._meta.db_table, own=OWN_HISTORY, everyone=EVERYONE_HISTORY
)


def _most_started(user: User) -> tuple[list[str], list[str]]:
    """The process keys most started among ``user``'s latest :data:`OWN_HISTORY` requests
    and among everyone's latest :data:`EVERYONE_HISTORY`, most first (a tie: the one
    started last first); one query, counted in the database (a few rows, not 700)."""
    with connections[router.db_for_read(ProcessInstance)].cursor() as cursor:
        cursor.execute(_MOST_STARTED, [user.username])
        rows = cursor.fetchall()
    ranked = sorted(rows, key=lambda row: (row[2], row[3]), reverse=True)
    return [key for mine, key, *_ in ranked if mine], [key for mine, key, *_ in ranked if not mine]


def quick_starts(user: User) -> tuple[list[catalogue.StartableProcess], bool]:
    """The processes ``user`` may start that they started most among their latest
    :data:`OWN_HISTORY` requests, most first; topped up with the ones everybody started
    most lately, then the catalogue's order, up to :data:`QUICK_STARTS`. The flag says
    whether any come from the person's own starts."""
    startable = {p.key: p for c in catalogue.startable_processes(user) for p in c.processes}
    if not startable:
        return [], False
    own, everyone = _most_started(user)
    chosen = [key for key in own if key in startable][:QUICK_STARTS]
    personal = bool(chosen)
    for key in [*everyone, *startable]:
        if len(chosen) == QUICK_STARTS:
            break
        if key in startable and key not in chosen:
            chosen.append(key)
    return [startable[key] for key in chosen], personal
