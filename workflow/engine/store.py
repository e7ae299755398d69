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
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

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
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


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


def one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def run(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def run_many(sql: str, param_list: Sequence[Sequence[Any]]) -> None:
    if param_list:
        with connection.cursor() as cursor:
            cursor.executemany(sql, param_list)


def values(count: int, width: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * count)


# --- locking and loading ---------------------------------------------------------------------


def lock_root_of_task(task_id: int) -> int | None:
    """Lock the root instance of the task's instance; its id, or None for no such task."""
    row = one(
        f"SELECT r.id FROM {I} r WHERE r.id = (SELECT COALESCE(i.root_id, i.id) FROM {I} i "
        f"WHERE i.id = (SELECT t.instance_id FROM {T} t WHERE t.id = %s)){for_update()}",
        (task_id,),
    )
    return None if row is None else row[0]


def lock_root_of_instance(instance_id: int) -> int | None:
    row = one(
        f"SELECT r.id FROM {I} r WHERE r.id = (SELECT COALESCE(i.root_id, i.id) FROM {I} i "
        f"WHERE i.id = %s){for_update()}",
        (instance_id,),
    )
    return None if row is None else row[0]


def load_task(task_id: int) -> tuple[Any, ...] | None:
    return one(
        f"SELECT id, instance_id, execution, element_id, name, state, assignee, created_at "
        f"FROM {T} WHERE id = %s",
        (task_id,),
    )


def load_instance(instance_id: int) -> tuple[Any, ...] | None:
    return one(f"SELECT {INSTANCE_COLUMNS} FROM {I} WHERE id = %s", (instance_id,))


def load_executions(instance_id: int) -> list[tuple[Any, ...]]:
    return rows(f"SELECT {EXECUTION_COLUMNS} FROM {E} WHERE instance_id = %s", (instance_id,))


# --- writing ---------------------------------------------------------------------------------


def insert_instance(row: Sequence[Any]) -> int:
    """``row`` follows INSTANCE_COLUMNS without the id."""
    columns = INSTANCE_COLUMNS.removeprefix("id, ")
    result = one(
        f"INSERT INTO {I} ({columns}) VALUES ({', '.join(['%s'] * len(row))}) RETURNING id",
        row,
    )
    if result is None:  # pragma: no cover - INSERT ... RETURNING always returns the row
        raise RuntimeError("the instance row was not inserted")
    return int(result[0])


def update_instance(
    instance_id: int,
    *,
    state: str,
    variables: str,
    next_number: int,
    end_event: str,
    ended_at: Any,
    business_key: str,
    title: str,
) -> None:
    run(
        f"UPDATE {I} SET state = %s, variables = %s, next_number = %s, end_event = %s, "
        f"ended_at = %s, business_key = %s, title = %s, revision = revision + 1 WHERE id = %s",
        (state, variables, next_number, end_event, ended_at, business_key, title, instance_id),
    )


def insert_executions(instance_id: int, items: Sequence[Sequence[Any]]) -> None:
    if items:
        run(
            f"INSERT INTO {E} (instance_id, {EXECUTION_COLUMNS}) VALUES {values(len(items), 7)}",
            [v for item in items for v in (instance_id, *item)],
        )


def update_executions(instance_id: int, items: Sequence[Sequence[Any]]) -> None:
    """``items``: (parent, element_id, state, variables, entered_at, number)."""
    run_many(
        f"UPDATE {E} SET parent = %s, element_id = %s, state = %s, variables = %s, "
        f"entered_at = %s WHERE instance_id = %s AND number = %s",
        [(*item[:5], instance_id, item[5]) for item in items],
    )


def delete_by_numbers(table: str, instance_id: int, numbers: Iterable[int]) -> None:
    numbers = sorted(numbers)
    if numbers:
        column = "number" if table == E else "execution"
        run(
            f"DELETE FROM {table} WHERE instance_id = %s AND {column} IN "
            f"({', '.join(['%s'] * len(numbers))})",
            (instance_id, *numbers),
        )


def insert_tasks(items: Sequence[Sequence[Any]]) -> dict[tuple[int, int], int]:
    """Insert open tasks; their ids by execution number. ``items``: (instance_id, execution,
    definition_key, element_id, name, assignee, priority, form_key, created_at, due_at)."""
    if not items:
        return {}
    found = rows(
        f"INSERT INTO {T} (instance_id, execution, definition_key, element_id, name, assignee, "
        f"priority, form_key, created_at, due_at, state, completed_by, outcome, data) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'open', '', '', '{}')"] * len(items))
        + " RETURNING id, instance_id, execution",
        [v for item in items for v in item],
    )
    return {(instance, execution): task_id for task_id, instance, execution in found}


def complete_task(
    task_id: int, *, completed_at: Any, completed_by: str, outcome: str, data: str
) -> None:
    run(
        f"UPDATE {T} SET state = 'completed', completed_at = %s, completed_by = %s, "
        f"outcome = %s, data = %s WHERE id = %s",
        (completed_at, completed_by, outcome, data, task_id),
    )


def cancel_tasks(instance_id: int, numbers: Iterable[int], at: Any) -> list[tuple[Any, ...]]:
    """Cancel the open tasks of these tokens; (id, element_id, created_at) of each."""
    numbers = sorted(numbers)
    if not numbers:
        return []
    marks = ", ".join(["%s"] * len(numbers))
    found = rows(
        f"SELECT id, element_id, created_at FROM {T} WHERE instance_id = %s AND state = 'open' "
        f"AND execution IN ({marks})",
        (instance_id, *numbers),
    )
    if found:
        run(
            f"UPDATE {T} SET state = 'cancelled', completed_at = %s WHERE instance_id = %s AND "
            f"state = 'open' AND execution IN ({marks})",
            (at, instance_id, *numbers),
        )
    return found


def insert_candidates(items: Sequence[Sequence[Any]]) -> None:
    if items:
        run(
            f"INSERT INTO {C} (task_id, kind, value) VALUES {values(len(items), 3)}",
            [v for item in items for v in item],
        )


def insert_jobs(items: Sequence[Sequence[Any]]) -> None:
    """``items``: (instance_id, root_instance_id, definition_id, execution, kind, element_id,
    due_at, retries, payload, created_at)."""
    if items:
        run(
            f"INSERT INTO {J} (instance_id, root_instance_id, definition_id, execution, kind, "
            f"element_id, due_at, retries, payload, created_at, attempts, locked_by, "
            f"last_error) VALUES "
            + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '')"] * len(items)),
            [v for item in items for v in item],
        )


def insert_subscriptions(items: Sequence[Sequence[Any]]) -> None:
    """``items``: (instance_id, execution, element_id, kind, name, created_at)."""
    if items:
        run(
            f"INSERT INTO {S} (instance_id, execution, element_id, kind, name, created_at) "
            f"VALUES {values(len(items), 6)}",
            [v for item in items for v in item],
        )


def insert_history(items: Sequence[Sequence[Any]]) -> None:
    if items:
        run(
            f"INSERT INTO {H} ({HISTORY_COLUMNS}) VALUES {values(len(items), 13)}",
            [v for item in items for v in item],
        )


def delete_instance_runtime(instance_id: int) -> None:
    """An instance ended: its tokens, jobs and subscriptions go (tasks stay, for the lists)."""
    for table in (E, S, J):
        run(f"DELETE FROM {table} WHERE instance_id = %s", (instance_id,))
