"""The engine's SQL: the statements of the hot path, written out once and run through Django's
own connection inside the caller's ``transaction.atomic()``.

Measured on this project's machines (``shared/notes/engine-performance.md``), the ORM's own
Python costs more per statement than the whole budget of a complete-task request, so start,
complete and job execution read and write with these statements; everything else (admin,
lists, reports) uses the models in ``workflow.models``. Each function here is one statement
(or one ``executemany``); every write of a request is collected first and sent at the end.

Locking: every action locks the *root* instance row (``FOR UPDATE`` on PostgreSQL; on SQLite
the write transaction is taken at BEGIN, ``transaction_mode=IMMEDIATE``) before it reads
anything it will act on, so each read after the lock sees the latest committed state.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import connection

PIPELINE = True  # PostgreSQL: send a request's reads, then its writes, in one round trip each

I = "workflow_processinstance"  # noqa: E741 - table names, short on purpose
E = "workflow_execution"
T = "workflow_task"
C = "workflow_taskcandidate"
S = "workflow_subscription"
J = "workflow_job"
H = "workflow_historyevent"
X = "workflow_incident"

INSTANCE_COLUMNS = (
    "id, definition_id, definition_key, business_key, title, initiator, state, variables, "
    "parent_id, parent_execution, root_id, end_event, started_at, revision, next_number"
)
EXECUTION_COLUMNS = "number, parent, element_id, state, variables, entered_at"
HISTORY_COLUMNS = (
    "instance_id, definition_key, kind, element_id, element_kind, task_id, actor, on_behalf_of, "
    "outcome, started_at, at, duration_ms, data"
)


def for_update() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def skip_locked() -> str:
    return (
        " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    )


def db_time(value: datetime.datetime | None) -> Any:
    if value is None:
        return None
    if connection.vendor == "sqlite":  # what Django's adapter makes of it, without its detours
        return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(" ")
    return connection.ops.adapt_datetimefield_value(value)


def py_time(value: Any) -> datetime.datetime | None:
    """A timestamp read back: SQLite gives naive UTC (or text), PostgreSQL aware values."""
    if value is None:
        return None
    parsed = (
        value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(value)
    )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def py_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@functools.lru_cache(maxsize=512)
def _qmark(sql: str) -> str:
    return sql.replace("%s", "?")


class _SqliteCursor:
    """SQLite's own cursor on Django's connection, with our ``%s`` placeholders turned into
    ``?`` once per statement text: Django's cursor wrapper rewrites the SQL with a regular
    expression on every call, which costs more than SQLite's work for these statements."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.cursor = connection.connection.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cursor.execute(_qmark(sql), params)

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> Any:
        return self.cursor.executemany(_qmark(sql), param_list)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cursor.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def cursor() -> Any:
    return _SqliteCursor() if connection.vendor == "sqlite" else connection.cursor()


def one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with cursor() as c:
        c.execute(sql, params)
        return c.fetchone()  # type: ignore[no-any-return]


def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with cursor() as c:
        c.execute(sql, params)
        return c.fetchall()  # type: ignore[no-any-return]


def run(sql: str, params: Sequence[Any] = ()) -> int:
    with cursor() as c:
        c.execute(sql, params)
        return c.rowcount  # type: ignore[no-any-return]


def values(count: int, width: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * count)


# --- locking and loading ---------------------------------------------------------------------


def lock_root_of_instance(instance_id: int) -> int | None:
    row = one(_lock_root("%s"), (instance_id,))
    return None if row is None else row[0]


def _read_in_order(
    statements: Sequence[tuple[str, Sequence[Any]]], *, lock_first: bool = True
) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, the statements run in order. On PostgreSQL they go in one
    pipeline (one round trip; the server runs them in order, so the reads after a lock see
    the state after it). On SQLite the transaction took the write lock at BEGIN: a first
    statement that only locks (``lock_first``) is not run, and reads as one row."""
    if connection.vendor == "postgresql" and PIPELINE:
        connection.ensure_connection()
        raw = connection.connection
        with raw.pipeline():
            cursors = []
            for sql, params in statements:
                cursor = raw.cursor()
                cursor.execute(sql, params)
                cursors.append(cursor)
        results = [c.fetchall() if c.description is not None else [] for c in cursors]
        for c in cursors:
            c.close()
        return results
    if lock_first:
        return [[(0,)], *(rows(sql, params) for sql, params in statements[1:])]
    return [rows(sql, params) for sql, params in statements]


def _lock_root(of: str) -> str:
    """The statement that locks the root instance of the instance ``of`` (SQL) names."""
    return (
        f"SELECT r.id FROM {I} r WHERE r.id = (SELECT COALESCE(i.root_id, i.id) FROM {I} i "
        f"WHERE i.id = {of}){for_update()}"
    )


def lock_and_load_task(
    task_id: int,
) -> tuple[tuple[Any, ...] | None, tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """Lock the root instance of a task, then read the task, its instance and its tokens:
    (task row, instance row, token rows), in one round trip on PostgreSQL."""
    lock, task, instance, executions = _read_in_order(
        (
            (_lock_root(f"(SELECT t.instance_id FROM {T} t WHERE t.id = %s)"), (task_id,)),
            (
                f"SELECT id, instance_id, execution, element_id, name, state, assignee, "
                f"created_at FROM {T} WHERE id = %s",
                (task_id,),
            ),
            (
                f"SELECT {INSTANCE_COLUMNS} FROM {I} WHERE id = "
                f"(SELECT instance_id FROM {T} WHERE id = %s)",
                (task_id,),
            ),
            (
                f"SELECT {EXECUTION_COLUMNS} FROM {E} WHERE instance_id = "
                f"(SELECT instance_id FROM {T} WHERE id = %s)",
                (task_id,),
            ),
        )
    )
    if not lock or not task or not instance:
        return None, None, []
    return task[0], instance[0], executions


JOB_COLUMNS = ("instance_id", "kind", "element_id", "execution", "payload", "definition_id")


def claimed_job(job_id: int, worker: str) -> dict[str, Any] | None:
    """What a job leased to ``worker`` is to do (``JOB_COLUMNS``), None when it is not (any
    more) theirs."""
    row = one(
        f"SELECT {', '.join(JOB_COLUMNS)} FROM {J} WHERE id = %s AND locked_by = %s",
        (job_id, worker),
    )
    if row is None:
        return None
    job = dict(zip(JOB_COLUMNS, row, strict=True))
    job["payload"] = py_json(job["payload"])
    return job


def lock_and_take_job(
    job_id: int, worker: str, instance_id: int | None
) -> tuple[bool, tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]] | None]:
    """Lock the root of the job's instance, take the job off the queue if it is still
    ``worker``'s and read the instance and its tokens: (taken, (instance row, token rows)),
    in one round trip on PostgreSQL. A job of no instance (a start timer) is only taken."""
    take = (f"DELETE FROM {J} WHERE id = %s AND locked_by = %s RETURNING id", (job_id, worker))
    if instance_id is None:
        (taken,) = _read_in_order((take,), lock_first=False)
        return bool(taken), None
    _lock, taken, instance, executions = _read_in_order(
        (
            (_lock_root("%s"), (instance_id,)),
            take,
            (f"SELECT {INSTANCE_COLUMNS} FROM {I} WHERE id = %s", (instance_id,)),
            (f"SELECT {EXECUTION_COLUMNS} FROM {E} WHERE instance_id = %s", (instance_id,)),
        )
    )
    return bool(taken), (instance[0] if instance else None, executions)


def latest_definition(key: str) -> int | None:
    row = one(
        "SELECT id FROM workflow_processdefinition WHERE key = %s ORDER BY version DESC LIMIT 1",
        (key,),
    )
    return None if row is None else int(row[0])


def load_instance(instance_id: int) -> tuple[Any, ...] | None:
    return one(f"SELECT {INSTANCE_COLUMNS} FROM {I} WHERE id = %s", (instance_id,))


def load_executions(instance_id: int) -> list[tuple[Any, ...]]:
    return rows(f"SELECT {EXECUTION_COLUMNS} FROM {E} WHERE instance_id = %s", (instance_id,))


# The initiator's columns read with an ended request: their display name and what their
# notice of the end needs (``portal.services.notification_send``: the channels they chose).
INITIATOR_COLUMNS = (
    "id",
    "username",
    "first_name",
    "last_name",
    "is_active",
    "preferred_language",
    "email",
    "phone",
    "notify_by_email",
    "notify_by_sms",
)


class EndedRequest(NamedTuple):
    """A request (an instance no other started) that ended in an action, with its
    initiator's ``INITIATOR_COLUMNS`` (None when the initiator is no user)."""

    id: int
    title: str
    key: str
    definition_id: int
    initiator: str
    person: tuple[Any, ...] | None


def ended_requests(instance_ids: Sequence[int]) -> list[EndedRequest]:
    """Those of these instances that are requests of their own (not called by another
    instance), by id, with what the end's notice and listeners need: the initiator is read
    here, not as a ``User`` of its own (``services.notifications.tell_initiators``)."""
    found = rows(
        "SELECT i.id, i.title, i.definition_key, i.definition_id, i.initiator, "
        + ", ".join(f"u.{column}" for column in INITIATOR_COLUMNS)
        + f" FROM {I} i LEFT JOIN portal_user u ON u.username = i.initiator "
        f"WHERE i.id IN ({', '.join(['%s'] * len(instance_ids))}) AND i.parent_id IS NULL "
        "ORDER BY i.id",
        tuple(instance_ids),
    )
    return [
        EndedRequest(
            id=row[0],
            title=row[1],
            key=row[2],
            definition_id=row[3],
            initiator=row[4],
            person=None if row[5] is None else tuple(row[5:]),
        )
        for row in found
    ]


def has_delegation(delegator: str, at: Any) -> bool:
    """Whether ``delegator`` has an out-of-office rule in force at ``at`` (any process):
    the cheap test before the rule that applies is looked for."""
    return (
        one(
            "SELECT 1 FROM portal_delegationrule r JOIN portal_user u ON u.id = r.delegator_id "
            "WHERE u.username = %s AND r.is_active AND r.starts_at <= %s AND r.ends_at > %s "
            "LIMIT 1",
            (delegator, at, at),
        )
        is not None
    )


def any_active_user(
    *, users: Sequence[str], roles: Sequence[str], departments: Sequence[str], besides: str = ""
) -> bool:
    """Whether an active user other than ``besides`` is named, holds one of the roles or
    belongs to one of the departments or their sub-departments (a department's subtree is
    the rows whose materialized path starts with its own): whether a new task reaches
    anyone's inbox."""
    who: list[str] = []
    params: list[Any] = []
    if users:
        who.append(f"u.username IN ({', '.join(['%s'] * len(users))})")
        params += users
    if roles:
        who.append(
            "u.id IN (SELECT ug.user_id FROM portal_user_groups ug JOIN portal_role r "
            f"ON r.group_ptr_id = ug.group_id WHERE r.code IN ({', '.join(['%s'] * len(roles))}))"
        )
        params += roles
    if departments:
        who.append(
            "u.department_id IN (SELECT d.id FROM portal_department d JOIN portal_department top "
            f"ON d.path LIKE top.path || '%%' WHERE top.code IN "
            f"({', '.join(['%s'] * len(departments))}))"
        )
        params += departments
    if not who:
        return False
    sql = f"SELECT 1 FROM portal_user u WHERE u.is_active AND ({' OR '.join(who)})"
    if besides:
        sql += " AND u.username <> %s"
        params.append(besides)
    return one(sql + " LIMIT 1", params) is not None


# --- writing ---------------------------------------------------------------------------------


class Batch:
    """The writes of one action, sent together at its end. On PostgreSQL they go in one
    pipeline (one network round trip for all of them, instead of one each); SQLite has no
    round trips to save. Statements run in the order they were added."""

    __slots__ = ("statements",)

    def __init__(self) -> None:
        self.statements: list[tuple[str, Sequence[Any], bool]] = []

    def add(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.statements.append((sql, params, False))

    def many(self, sql: str, param_list: Sequence[Sequence[Any]]) -> None:
        if param_list:
            self.statements.append((sql, param_list, True))

    def send(self) -> None:
        statements, self.statements = self.statements, []
        if not statements:
            return
        if connection.vendor == "postgresql" and PIPELINE:
            raw = connection.connection
            with raw.pipeline(), raw.cursor() as c:
                for sql, params, many in statements:
                    if many:
                        c.executemany(sql, params)
                    else:
                        c.execute(sql, params)
            return
        with cursor() as c:
            for sql, params, many in statements:
                if many:
                    c.executemany(sql, params)
                else:
                    c.execute(sql, params)


def insert_instance(row: Sequence[Any]) -> int:
    """``row`` follows INSTANCE_COLUMNS without the id, then the search text (written once
    here, never read back by the engine); the id is needed at once: tokens, tasks and
    called instances refer to it."""
    columns = INSTANCE_COLUMNS.removeprefix("id, ") + ", search"
    # in a pipeline of its own on PostgreSQL: the transaction's BEGIN goes with it (one
    # round trip, not two, when it is the action's first statement)
    ((result,),) = _read_in_order(
        [
            (
                f"INSERT INTO {I} ({columns}) VALUES ({', '.join(['%s'] * len(row))}) RETURNING id",
                row,
            )
        ],
        lock_first=False,
    )
    return int(result[0])


def update_instance(batch: Batch, instance_id: int, *fields: Any) -> None:
    """``fields``: state, variables, next_number, end_event, ended_at, business_key, title."""
    batch.add(
        f"UPDATE {I} SET state = %s, variables = %s, next_number = %s, end_event = %s, "
        f"ended_at = %s, business_key = %s, title = %s, revision = revision + 1 WHERE id = %s",
        (*fields, instance_id),
    )


def insert_executions(batch: Batch, instance_id: int, items: Sequence[Sequence[Any]]) -> None:
    if items:
        batch.add(
            f"INSERT INTO {E} (instance_id, {EXECUTION_COLUMNS}) VALUES {values(len(items), 7)}",
            [v for item in items for v in (instance_id, *item)],
        )


def update_executions(batch: Batch, instance_id: int, items: Sequence[Sequence[Any]]) -> None:
    """``items``: (parent, element_id, state, variables, entered_at, number)."""
    batch.many(
        f"UPDATE {E} SET parent = %s, element_id = %s, state = %s, variables = %s, "
        f"entered_at = %s WHERE instance_id = %s AND number = %s",
        [(*item[:5], instance_id, item[5]) for item in items],
    )


def delete_by_numbers(batch: Batch, table: str, instance_id: int, numbers: Iterable[int]) -> None:
    ordered = sorted(numbers)
    if ordered:
        column = "number" if table == E else "execution"
        batch.add(
            f"DELETE FROM {table} WHERE instance_id = %s AND {column} IN "
            f"({', '.join(['%s'] * len(ordered))})",
            (instance_id, *ordered),
        )


def delete_all(batch: Batch, table: str, instance_id: int) -> None:
    batch.add(f"DELETE FROM {table} WHERE instance_id = %s", (instance_id,))


def complete_task(
    batch: Batch, task_id: int, *, completed_at: Any, completed_by: str, outcome: str, data: str
) -> None:
    batch.add(
        f"UPDATE {T} SET state = 'completed', completed_at = %s, completed_by = %s, "
        f"outcome = %s, data = %s WHERE id = %s",
        (completed_at, completed_by, outcome, data, task_id),
    )


def _elapsed_ms(start_column: str) -> str:
    """SQL for the milliseconds from ``start_column`` to the parameter that follows."""
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM (%s - {start_column})) * 1000 AS BIGINT)"
    return f"CAST((julianday(%s) - julianday({start_column})) * 86400000 AS INTEGER)"


def cancel_tasks(batch: Batch, instance_id: int, numbers: Iterable[int], at: Any) -> None:
    """Cancel the open tasks of these tokens, with a history row for each."""
    ordered = sorted(numbers)
    if not ordered:
        return
    marks = ", ".join(["%s"] * len(ordered))
    batch.add(
        f"INSERT INTO {H} ({HISTORY_COLUMNS}) SELECT t.instance_id, t.definition_key, "
        f"'task-cancelled', t.element_id, 'userTask', t.id, '', '', 'cancelled', t.created_at, "
        f"%s, {_elapsed_ms('t.created_at')}, '{{}}' FROM {T} t WHERE t.instance_id = %s AND "
        f"t.state IN ('open', 'waiting', 'pending') AND t.execution IN ({marks}) ORDER BY t.id",
        (at, at, instance_id, *ordered),
    )
    batch.add(
        f"UPDATE {T} SET state = 'cancelled', completed_at = %s WHERE instance_id = %s AND "
        f"state IN ('open', 'waiting', 'pending') AND execution IN ({marks})",
        (at, instance_id, *ordered),
    )


def insert_tasks(batch: Batch, items: Sequence[Sequence[Any]]) -> None:
    """Insert open tasks with a task-created history row each. ``items``: (instance_id,
    execution, definition_key, element_id, name, assignee, priority, form_key, created_at,
    due_at, on_behalf_of). Ids are not needed here: candidates and history find the rows by
    token."""
    if not items:
        return
    batch.add(
        f"INSERT INTO {T} (instance_id, execution, definition_key, element_id, name, assignee, "
        f"priority, form_key, created_at, due_at, on_behalf_of, state, completed_by, outcome, "
        f"data, owner, delegation, signer) VALUES "
        + ", ".join(
            ["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', '', '', '{}', '', '', '')"]
            * len(items)
        ),
        [v for item in items for v in item],
    )
    by_instance: dict[int, list[int]] = {}
    for item in items:
        by_instance.setdefault(item[0], []).append(item[1])
    for instance_id, numbers in by_instance.items():
        batch.add(
            f"INSERT INTO {H} ({HISTORY_COLUMNS}) SELECT t.instance_id, t.definition_key, "
            f"'task-created', t.element_id, 'userTask', t.id, t.assignee, t.on_behalf_of, '', "
            f"NULL, "
            f"t.created_at, NULL, '{{}}' FROM {T} t WHERE t.instance_id = %s AND t.state = 'open' "
            f"AND t.execution IN ({', '.join(['%s'] * len(numbers))}) ORDER BY t.id",
            (instance_id, *numbers),
        )


def insert_candidates(batch: Batch, instance_id: int, items: Sequence[Sequence[Any]]) -> None:
    """``items``: (execution, kind, value) of the tasks inserted in this batch."""
    if items:
        batch.add(
            # on offer when nobody holds the task (said here: the database's trigger then
            # has nothing to look up, migration 0013)
            f"INSERT INTO {C} (task_id, kind, value, offered) SELECT t.id, v.column2, "
            f"v.column3, t.assignee = '' FROM {T} t "
            f"JOIN (VALUES {values(len(items), 3)}) AS v ON t.execution = CAST(v.column1 AS "
            f"INTEGER) WHERE t.instance_id = %s AND t.state = 'open'",
            [*(v for item in items for v in item), instance_id],
        )


def insert_jobs(batch: Batch, items: Sequence[Sequence[Any]]) -> None:
    """``items``: (instance_id, root_instance_id, definition_id, execution, kind, element_id,
    due_at, retries, payload, created_at)."""
    if items:
        batch.add(
            f"INSERT INTO {J} (instance_id, root_instance_id, definition_id, execution, kind, "
            f"element_id, due_at, retries, payload, created_at, attempts, locked_by, "
            f"last_error) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '')"] * len(items)),
            [v for item in items for v in item],
        )


def insert_subscriptions(batch: Batch, items: Sequence[Sequence[Any]]) -> None:
    """``items``: (instance_id, execution, element_id, kind, name, created_at)."""
    if items:
        batch.add(
            f"INSERT INTO {S} (instance_id, execution, element_id, kind, name, created_at) "
            f"VALUES {values(len(items), 6)}",
            [v for item in items for v in item],
        )


HISTORY_CHUNK = 3  # rows per INSERT: few statement shapes, each under psycopg's 50-parameter
# parse cache and prepared once; a 4-row insert is parsed afresh on every call


def insert_history(batch: Batch, items: Sequence[Sequence[Any]]) -> None:
    for start in range(0, len(items), HISTORY_CHUNK):
        chunk = items[start : start + HISTORY_CHUNK]
        batch.add(
            f"INSERT INTO {H} ({HISTORY_COLUMNS}) VALUES {values(len(chunk), 13)}",
            [v for item in chunk for v in item],
        )
