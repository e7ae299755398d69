#!/usr/bin/env python3
"""The portal's workflow engine on the shared BPMN workload, request by request.

For each BPMN file named in ``shared/bpmn/workload.json`` (default: all three) and N
instances (default 300), in one thread, it plays the users and the job scheduler against the
engine's public services the way a web deployment calls them:

* a **create** request: ``engine.instance_start`` with the workload's start variables;
* one **complete** request per open user task: ``engine.task_complete`` with the
  workload's form data for that task;
* one **timer job** request whenever the instance waits only on an intermediate timer: the
  job is made due (time passes; not timed) and a worker's tick claims and runs it
  (``job_services.jobs_claim`` + ``job_services.job_execute``, what ``jobs_run_due`` does). Boundary
  timers never fire: the users act before their deadlines.

With ``--workers K`` (K > 1), K driver processes are forked after the set-up and released
together; each plays every K-th instance of the same run on the same database (real lock and
job-queue contention: a worker's tick may run another driver's due timer, as it would in a
deployment with several workers). ``instances_per_s`` is then all instances / the wall time
from the common start to the last driver's end; request percentiles are over all drivers'
requests. ``--phases`` and ``--profile`` need one driver.

Every request is its own transaction(s), loads what it needs from the database and is
wrapped in ``django.db.close_old_connections()`` before and after, as Django's request
signals do. Between requests the driver looks up the instance's next open task (or timer
job) with one SQL query, the way the next page of a web application would; that lookup is
not part of any request's time, but it is inside the wall time.

Figures follow the SpiffWorkflow peer harness (``shared/peers/spiff_bench.py``) so the two
lines compare: ``instances_per_s`` is instances / wall time of the whole driver loop (every
request of every instance, and the driver's own work in between, exactly the peer's
definition); the request percentiles are nearest-rank. ``instances_per_s_requests`` divides
by the time inside requests only, without the driver's lookups.

Verification: every instance took exactly the expected user tasks (as a multiset, also
checked against the task rows) and timer jobs, ended ``completed``, and left no open task,
token, job, subscription or incident. History rows per instance are counted.

Each run gets a fresh database: migrated and deployed once per invocation (a template), then
copied per run (a file copy on SQLite; ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, in
throwaway databases ``bench_engine_<pid>_*`` that are dropped at the end).

Settings are the portal's production ones (``portal/settings.py``): DEBUG off, persistent
connections with health checks; SQLite in WAL with ``BEGIN IMMEDIATE``; PostgreSQL with
server-side binding and prepared statements. Other environment variables the settings read
(``DB_CONN_MAX_AGE``, ``DB_PREPARE_THRESHOLD`` ...) pass through.

Diagnostics (they slow the requests down; their runs are marked ``instrumented``):
``--phases`` splits every request into SQL execute / commit / health check / Python, and
lists the statements of the complete requests; ``--profile FILE`` runs cProfile over the
complete requests only and prints where the time goes by bucket.

Examples (from the project root):
    .venv/bin/python bench/engine.py --db sqlite -n 300
    .venv/bin/python bench/engine.py --db postgres -n 300 --workers 4
    .venv/bin/python bench/engine.py expense_approval.bpmn --db postgres \\
        --dsn postgresql://postgres@127.0.0.1:5432/postgres -n 300 --repeat 3 --json-out out.jsonl
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import pstats
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # checked out beside the repository
DEFAULT_WORKLOAD = Path(os.environ.get("BENCH_WORKLOAD", SHARED / "bpmn" / "workload.json"))
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# The applications the workload's service tasks name; the bench registers them as no-ops
# that run inline, as the peer's stubs complete at once.
NOOP_APPLICATIONS = (
    "erp.reserve_budget",
    "mail.remind_manager",
    "hris.sync_employee",
    "dms.store_contract",
)
MAX_STEPS = 200  # requests per instance before it counts as stuck


# --- workload ----------------------------------------------------------------------------


def resolve(value: Any, i: int) -> Any:
    """A workload value for instance ``i``: ``{i}`` in strings becomes the index, and
    ``{"alternate": [a, b, ...]}`` picks the ``i % len``-th option."""
    if isinstance(value, dict) and list(value) == ["alternate"]:
        options = value["alternate"]
        return resolve(options[i % len(options)], i)
    if isinstance(value, dict):
        return {key: resolve(item, i) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, i) for item in value]
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    return value


def nearest_rank(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..1) of an ascending list."""
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summary_ms(durations_ns: list[int]) -> dict[str, float] | None:
    if not durations_ns:
        return None
    ms = sorted(d / 1e6 for d in durations_ns)
    return {
        "n": len(ms),
        "p50": round(nearest_rank(ms, 0.50), 3),
        "p95": round(nearest_rank(ms, 0.95), 3),
        "p99": round(nearest_rank(ms, 0.99), 3),
        "mean": round(sum(ms) / len(ms), 3),
        "max": round(ms[-1], 3),
    }


def pick_processes(workload: dict[str, Any], files: list[str]) -> list[tuple[str, dict]]:
    """(process id, workload entry) for each file named (by file name), in the given order."""
    entries = workload["processes"]
    if not files:
        return list(entries.items())
    chosen = []
    for name in files:
        base = Path(name).name
        found = [(pid, p) for pid, p in entries.items() if base in (p["file"], pid)]
        if not found:
            raise SystemExit(f"{name}: no entry for it in the workload file")
        chosen.extend(found)
    return chosen


# --- databases: a migrated template, a fresh copy per run ---------------------------------


def pg_params(dsn: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}


def pg_url(params: dict[str, str], dbname: str) -> str:
    from urllib.parse import quote

    user = quote(params.get("user", "postgres"), safe="")
    password = params.get("password")
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql://{auth}{host}:{port}/{quote(dbname, safe='')}"


def pg_admin(params: dict[str, str], statement: str) -> None:
    """Run one statement on the server's maintenance database, outside a transaction."""
    import psycopg

    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(statement)


class SqliteDatabases:
    kind = "sqlite"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench_engine_"))
        self.template = self.dir / "template.sqlite3"
        self.count = 0

    def template_env(self) -> dict[str, str]:
        return {"SQLITE_PATH": str(self.template)}

    def seal_template(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()

    def new_run(self) -> str:
        self.count += 1
        path = self.dir / f"run{self.count}.sqlite3"
        shutil.copyfile(self.template, path)
        return str(path)

    def drop_run(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresDatabases:
    kind = "postgres"

    def __init__(self, dsn: str) -> None:
        self.params = pg_params(dsn)
        self.prefix = f"bench_engine_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self.made: list[str] = []
        self.count = 0
        pg_admin(self.params, f'CREATE DATABASE "{self.template}"')
        self.made.append(self.template)

    def template_env(self) -> dict[str, str]:
        return {"DATABASE_URL": pg_url(self.params, self.template)}

    def seal_template(self) -> None:
        from django.db import connection

        connection.close()  # CREATE DATABASE ... TEMPLATE needs the template unused

    def new_run(self) -> str:
        self.count += 1
        name = f"{self.prefix}_run{self.count}"
        pg_admin(self.params, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return name

    def drop_run(self, name: str) -> None:
        pg_admin(self.params, f'DROP DATABASE IF EXISTS "{name}"')
        self.made.remove(name)

    def cleanup(self) -> None:
        for name in list(self.made):
            with contextlib.suppress(Exception):
                pg_admin(self.params, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.made.remove(name)


def use_database(name: str) -> None:
    """Point Django's default connection at another database (the next request connects)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def configure_environment(extra: dict[str, str]) -> None:
    """Production settings for the bench process, before Django reads them."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    if len(os.environ.get("SECRET_KEY", "")) < 50:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HTTPS"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("CELERY_BROKER_URL", None)  # no broker: job wake-ups run eagerly
    # The bench plays the scheduler itself: no sweep may fire a timer behind its back (it
    # sends no request_finished signal anyway; this makes it explicit).
    os.environ["WORKFLOW_EMBEDDED_SWEEP"] = "0"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("SQLITE_PATH", None)
    os.environ.update(extra)
    sys.path.insert(0, str(ROOT))
    # Celery's Django fix-up puts the working directory first on sys.path: run from the
    # project root that is measured, or another checkout's modules would be imported.
    os.chdir(ROOT)


ANNOUNCED: list[str] = []


def queue_announcements_like_a_broker() -> None:
    """What a request hands to the workers after its commit — new-task notifications, and
    the wake-up for jobs that fell due (a step's reminder or time-out when its due date has
    passed) — leaves as a Celery message in production, and a worker does the work. Without a
    broker Celery would run it inside the request (eager), so the bench queues the message
    the way a broker client would (the serialized body kept in memory): the request pays the
    publish, not the delivery. The driver runs the timer jobs the workload waits on itself."""
    from workflow.services import engine

    def publisher(name: str) -> Any:
        def publish(*args: Any) -> None:
            ANNOUNCED.append(json.dumps({"task": name, "args": list(args)}))

        return publish

    engine.QUEUE.announce_tasks = publisher("workflow.tasks.announce_tasks")
    engine.QUEUE.wake_workers = publisher("workflow.tasks.run_jobs")


def register_noop_applications() -> list[str]:
    """The workload's applications as no-op stubs that run inline, as the peer's complete at
    once; a real application registered under the same name (a connector that would POST to
    another system) is replaced for this process. The names replaced."""
    from workflow.applications import Application, applications

    replaced = []
    for name in NOOP_APPLICATIONS:
        if applications.get(name) is not None:
            applications.unregister(name)
            replaced.append(name)
        applications.register(Application(name, name, lambda call: None, inline=True))
    return replaced


def prepare_template(bpmn_files: list[Path]) -> None:
    from django.core.management import call_command

    from portal.models import Role, User
    from workflow.services import definitions

    call_command("migrate", verbosity=0, interactive=False)
    for path in bpmn_files:
        definitions.definition_deploy(xml=path.read_bytes(), source_name=path.name)
    # the candidate groups the shared files name, held by someone, as in a real organization
    # (a group nobody holds makes the step an incident: nobody can handle it)
    holder = User.objects.create_user(username="group.member")
    for code in ("managers", "directors", "finance", "records", "hr", "it", "admin"):
        holder.groups.add(Role.objects.create(code=code, name=code))


# --- instrumentation (--phases, --profile) ------------------------------------------------

PLACEHOLDER = r"(?:%s|\?|'[^']*'|\d+|NULL)"
PLACEHOLDER_ROWS = re.compile(rf"\({PLACEHOLDER}(?:, {PLACEHOLDER})*\)(?:, \([^()]*\))+")
PLACEHOLDER_LIST = re.compile(rf"IN \({PLACEHOLDER}(?:, {PLACEHOLDER})*\)")


def statement_key(sql: Any) -> str:
    text = " ".join(str(sql).split())
    text = PLACEHOLDER_ROWS.sub("(...) x N", text)
    return PLACEHOLDER_LIST.sub("IN (...)", text)


class _TimedCursor:
    """A driver cursor whose execute/executemany/fetch calls are timed."""

    def __init__(self, cursor: Any, phases: Phases) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_phases", phases)

    def _timed(self, name: str, sql: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            result = getattr(self._cursor, name)(sql, *args, **kwargs)
        finally:
            self._phases.add("execute", time.perf_counter_ns() - start, sql)
        return self if result is self._cursor else result

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        return self._timed("execute", sql, *args, **kwargs)

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        return self._timed("executemany", sql, *args, **kwargs)

    def _fetch(self, name: str, *args: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return getattr(self._cursor, name)(*args)
        finally:
            self._phases.add("execute", time.perf_counter_ns() - start)

    def fetchone(self) -> Any:
        return self._fetch("fetchone")

    def fetchall(self) -> Any:
        return self._fetch("fetchall")

    def fetchmany(self, *args: Any) -> Any:
        return self._fetch("fetchmany", *args)

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __enter__(self) -> Any:
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._cursor.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cursor, name, value)


class _TimedPipeline:
    """psycopg's pipeline: the statements queued in it go out (and their results come back)
    when it ends, so the end is one round trip of SQL execute time."""

    def __init__(self, pipeline: Any, phases: Phases) -> None:
        self._pipeline = pipeline
        self._phases = phases

    def __enter__(self) -> Any:
        self._pipeline.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return self._pipeline.__exit__(*exc)
        finally:
            self._phases.add("execute", time.perf_counter_ns() - start, "<pipeline sync>")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipeline, name)


class _TimedConnection:
    """The driver connection under Django's wrapper, whatever path the engine takes to it
    (Django's cursor, the driver's own cursor, a psycopg pipeline)."""

    def __init__(self, raw: Any, phases: Phases) -> None:
        object.__setattr__(self, "_raw", raw)
        object.__setattr__(self, "_phases", phases)

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return _TimedCursor(self._raw.cursor(*args, **kwargs), self._phases)

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        return _TimedPipeline(self._raw.pipeline(*args, **kwargs), self._phases)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return self._raw.execute(sql, *args, **kwargs)
        finally:
            self._phases.add("execute", time.perf_counter_ns() - start, sql)

    def commit(self) -> Any:
        start = time.perf_counter_ns()
        try:
            return self._raw.commit()
        finally:
            self._phases.add("commit", time.perf_counter_ns() - start)

    def __enter__(self) -> Any:
        return self._raw.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._raw.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._raw, name, value)


class Phases:
    """Wall-clock split of every request, measured at the database driver: SQL execute (the
    driver's execute and fetch calls and psycopg pipeline syncs: the round trips and the
    database's own work, BEGIN included), commit, Django's connection health check, and
    the rest, which is Python (the engine's, Django's, the driver's argument handling)."""

    def __init__(self) -> None:
        self.current: collections.Counter[str] | None = None
        self.kind = ""
        self.in_health_check = False
        self.requests: dict[str, list[collections.Counter[str]]] = collections.defaultdict(list)
        self.statements: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
        self._undo: list[Callable[[], None]] = []

    def add(self, bucket: str, spent: int, sql: Any = None) -> None:
        current = self.current
        if current is None:
            return
        if self.in_health_check:
            current["health_ns"] += spent
            return
        current[f"{bucket}_ns"] += spent
        if sql is not None:
            current["statements"] += 1
            entry = self.statements[(self.kind, statement_key(sql))]
            entry[0] += 1
            entry[1] += spent

    def _wrap(self, **kwargs: Any) -> None:
        from django.db import connection

        raw = connection.connection
        if raw is not None and not isinstance(raw, _TimedConnection):
            connection.connection = _TimedConnection(raw, self)

    def install(self) -> None:
        from django.db import connection
        from django.db.backends.signals import connection_created

        self._wrap()
        connection_created.connect(self._wrap, weak=False, dispatch_uid="bench-phases")
        original = connection.is_usable

        def is_usable() -> bool:
            self.in_health_check = True
            try:
                return original()
            finally:
                self.in_health_check = False

        connection.is_usable = is_usable  # type: ignore[method-assign]

        def undo() -> None:
            connection_created.disconnect(dispatch_uid="bench-phases")
            del connection.is_usable
            if isinstance(connection.connection, _TimedConnection):
                connection.connection = object.__getattribute__(connection.connection, "_raw")

        self._undo.append(undo)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    @contextlib.contextmanager
    def request(self, kind: str) -> Iterator[None]:
        self.kind = kind
        self.current = collections.Counter()
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.current["total_ns"] = time.perf_counter_ns() - start
            self.requests[kind].append(self.current)
            self.current = None

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, items in self.requests.items():
            n = len(items)
            total = sum(i["total_ns"] for i in items) / n / 1e6
            parts = {k: sum(i[f"{k}_ns"] for i in items) / n / 1e6 for k in PHASES}
            out[kind] = {
                "requests": n,
                "statements_mean": round(sum(i["statements"] for i in items) / n, 2),
                "total_ms_mean": round(total, 4),
                **{f"{k}_ms_mean": round(v, 4) for k, v in parts.items()},
                "python_ms_mean": round(total - sum(parts.values()), 4),
            }
        totals: collections.Counter[str] = collections.Counter()
        for (kind, _sql), (_count, spent) in self.statements.items():
            totals[kind] += spent
        out["statements"] = [
            {
                "request": kind,
                "sql": sql[:200],
                "per_request": round(count / len(self.requests[kind]), 3),
                "mean_us": round(spent / count / 1e3, 1),
                "share_of_execute": round(spent / totals[kind], 3) if totals[kind] else 0.0,
            }
            for (kind, sql), (count, spent) in sorted(
                self.statements.items(), key=lambda item: -item[1][1]
            )
        ]
        return out


PHASES = ("execute", "commit", "health")


PROFILE_BUCKETS = (
    # Cython and C code does not show in cProfile on its own: libpq's calls count in the
    # psycopg function that made them, SQLite's in the sqlite3 method.
    (
        "waiting on PostgreSQL: psycopg wait() (round trips, server work, pipeline flushes)",
        ("psycopg/connection.py wait", "psycopg/waiting.py"),
    ),
    ("SQLite's C code: commit (WAL write, fsync)", ("'commit' of 'sqlite3",)),
    # (Python 3.11's cProfile names sqlite3's C execute after Django's cursor subclass.)
    ("SQLite's C code: execute, fetch", ("sqlite3.", "~ <function SQLiteCursorWrapper.")),
    ("psycopg Python: query conversion (_queries.py)", ("/psycopg/_queries.py",)),
    ("psycopg Python: cursor, pipeline, results, adapters", ("/psycopg/",)),
    ("Django ORM (models, query, compiler)", ("/django/db/models/",)),
    ("Django backend wrappers, transaction, connection handling", ("/django/db/",)),
    ("Django other", ("/django/",)),
    ("engine: workflow/engine/runtime.py", ("/workflow/engine/runtime.py",)),
    ("engine: workflow/engine/store.py", ("/workflow/engine/store.py",)),
    ("engine: workflow/services.py", ("/workflow/services.py",)),
    ("engine: expressions, graph, other workflow code", ("/workflow/",)),
    ("json", ("/json/", "_json")),
    ("bench driver", ("/bench/",)),
)


def profile_bucket(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for label, needles in PROFILE_BUCKETS:
        if any(needle in where for needle in needles):
            return label
    if filename == "~":
        return "Python builtins (getattr, isinstance, dict/list methods ...)"
    return "other standard library"


def _label(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    parts = Path(filename).parts
    short = "/".join(parts[-3:] if "workflow" in parts else parts[-2:])
    return f"{short}:{line}({function})"


def profile_report(profiler: cProfile.Profile, path: str) -> dict[str, Any]:
    profiler.dump_stats(path)
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0
    buckets: collections.Counter[str] = collections.Counter()
    for (filename, _line, function), entry in raw.items():
        buckets[profile_bucket(filename, function)] += entry[2]

    def listing(items: list[Any], key: int) -> list[dict[str, Any]]:
        return [
            {
                "function": _label(filename, line, function),
                "calls": entry[1],
                "share": round(entry[key] / total, 4),
            }
            for (filename, line, function), entry in items
        ]

    by_tottime = sorted(raw.items(), key=lambda item: -item[1][2])[:30]
    engine = [item for item in raw.items() if f"{ROOT}/workflow/" in item[0][0]]
    by_cumtime = sorted(engine, key=lambda item: -item[1][3])[:25]
    return {
        "file": path,
        "tottime_s": round(total, 3),
        "buckets": {k: round(v / total, 4) for k, v in buckets.most_common()},
        "top_tottime": listing(by_tottime, 2),
        "engine_cumtime": listing(by_cumtime, 3),
    }


# --- the run -------------------------------------------------------------------------------

NEXT_TASK_SQL = (
    "SELECT t.id, t.element_id, t.assignee FROM workflow_task t "
    "WHERE t.instance_id IN (SELECT i.id FROM workflow_processinstance i "
    "WHERE i.id = %s OR i.root_id = %s) AND t.state = 'open' ORDER BY t.id"
)
TIMER_JOBS_SQL = (
    "SELECT j.id, j.element_id FROM workflow_job j WHERE j.root_instance_id = %s "
    "AND j.kind = 'timer' ORDER BY j.id"
)
MAKE_DUE_SQL = "UPDATE workflow_job SET due_at = %s WHERE id = %s"
JOB_EXISTS_SQL = "SELECT 1 FROM workflow_job WHERE id = %s"


class Driver:
    """Plays the users and the scheduler; every engine call is one timed request."""

    def __init__(self, phases: Phases | None, profiler: cProfile.Profile | None) -> None:
        self.phases = phases
        self.profiler = profiler

    def request(self, kind: str, call: Callable[[], Any]) -> tuple[Any, int]:
        from django.db import close_old_connections

        profiling = self.profiler is not None and kind == "complete"
        with self.phases.request(kind) if self.phases else contextlib.nullcontext():
            if profiling:
                self.profiler.enable()  # type: ignore[union-attr]
            start = time.perf_counter_ns()
            close_old_connections()  # request_started
            try:
                result = call()
            finally:
                close_old_connections()  # request_finished
                spent = time.perf_counter_ns() - start
                if profiling:
                    self.profiler.disable()  # type: ignore[union-attr]
        return result, spent

    @staticmethod
    def query(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The driver's own read, as the next page of the application would make it."""
        from django.db import close_old_connections, connection

        close_old_connections()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            close_old_connections()


@dataclasses.dataclass
class Share:
    """What one driver did: its instances and the time of each of its requests."""

    create_ns: list[int] = dataclasses.field(default_factory=list)
    complete_ns: list[int] = dataclasses.field(default_factory=list)
    timer_ns: list[int] = dataclasses.field(default_factory=list)
    lookup_ns: list[int] = dataclasses.field(default_factory=list)
    done_by_instance: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    mismatches: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    user_tasks: int = 0
    timer_jobs: int = 0
    ticks_without_own_job: int = 0

    def merge(self, other: Share) -> None:
        for name in ("create_ns", "complete_ns", "timer_ns", "lookup_ns", "mismatches"):
            getattr(self, name).extend(getattr(other, name))
        self.done_by_instance.update(other.done_by_instance)
        self.user_tasks += other.user_tasks
        self.timer_jobs += other.timer_jobs
        self.ticks_without_own_job += other.ticks_without_own_job


def drive(
    process_id: str,
    proc: dict[str, Any],
    indices: range,
    *,
    boundary: set[str],
    driver: Driver,
    worker: str,
) -> Share:
    """Play instances ``indices`` of the workload to their end, request by request."""
    from django.db import connection
    from django.utils import timezone

    from workflow.services import engine
    from workflow.services import jobs as job_services

    share = Share()
    for i in indices:
        start_vars = resolve(proc["start_variables"], i)
        expected = resolve(proc["expected_user_tasks"], i)
        instance_id, spent = driver.request(
            "create",
            lambda sv=start_vars: engine.instance_start(
                process_id, variables=sv, initiator=sv.get("initiator", "")
            ),
        )
        share.create_ns.append(spent)
        done: list[str] = []
        fired = 0
        for _step in range(MAX_STEPS):
            t0 = time.perf_counter_ns()
            open_tasks = driver.query(NEXT_TASK_SQL, (instance_id, instance_id))
            share.lookup_ns.append(time.perf_counter_ns() - t0)
            if open_tasks:
                task_id, element_id, assignee = open_tasks[0]
                form = resolve(proc["forms"].get(element_id, {}), i)
                _, spent = driver.request(
                    "complete",
                    lambda t=task_id, a=assignee, f=form: engine.task_complete(
                        t, actor=a or "bench.user", data=f
                    ),
                )
                share.complete_ns.append(spent)
                done.append(element_id)
                share.user_tasks += 1
                continue
            t0 = time.perf_counter_ns()
            jobs = [j for j in driver.query(TIMER_JOBS_SQL, (instance_id,)) if j[1] not in boundary]
            share.lookup_ns.append(time.perf_counter_ns() - t0)
            if not jobs:
                break  # nothing left to do: verified below
            job_id = jobs[0][0]
            # time passes: the timer is due now (not part of the request)
            due = timezone.now() - datetime.timedelta(seconds=1)
            driver.query(MAKE_DUE_SQL, (connection.ops.adapt_datetimefield_value(due), job_id))

            def tick() -> list[int]:
                claimed = job_services.jobs_claim(limit=1, worker=worker)
                for claimed_id in claimed:
                    job_services.job_execute(claimed_id, worker=worker)
                return claimed

            # A worker's tick runs whichever job is due first: with several drivers it may
            # be another driver's timer, and this one's may be run by another driver's tick.
            for _tick in range(MAX_STEPS):
                claimed, spent = driver.request("timer", tick)
                share.timer_ns.append(spent)
                if job_id in claimed or not driver.query(JOB_EXISTS_SQL, (job_id,)):
                    break
                share.ticks_without_own_job += 1
            else:
                raise RuntimeError(f"instance {i}: timer job {job_id} never ran")
            fired += 1
            share.timer_jobs += 1
        else:
            raise RuntimeError(f"instance {i} did not finish in {MAX_STEPS} requests")
        if (
            collections.Counter(done) != collections.Counter(expected)
            or fired != proc["expected_timer_jobs"]
        ):
            share.mismatches.append(
                {"instance": i, "done": done, "expected": expected, "timers": fired}
            )
        share.done_by_instance[instance_id] = done
    return share


def _drive_in_child(
    queue: Any, barrier: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """A forked driver: its own connection, released with the others by the barrier."""
    from django.db import connections

    try:
        barrier.wait()
        queue.put(("ok", drive(*args, **kwargs)))
    except BaseException as error:  # reported to the parent, which fails the run
        queue.put(("error", f"{type(error).__name__}: {error}"))
    finally:
        connections.close_all()


def drive_concurrently(
    process_id: str,
    proc: dict[str, Any],
    instances: int,
    workers: int,
    *,
    boundary: set[str],
) -> tuple[Share, float]:
    """``workers`` forked driver processes on one database, each with every ``workers``-th
    instance; the wall time runs from their common start to the last one's end."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # no connection crosses the fork
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    barrier = context.Barrier(workers + 1)
    children = [
        context.Process(
            target=_drive_in_child,
            args=(
                queue,
                barrier,
                (process_id, proc, range(w, instances, workers)),
                {"boundary": boundary, "driver": Driver(None, None), "worker": f"bench-{w}"},
            ),
        )
        for w in range(workers)
    ]
    for child in children:
        child.start()
    barrier.wait()
    t_start = time.perf_counter()
    total, errors = Share(), []
    for _ in children:
        status, payload = queue.get()
        if status == "ok":
            total.merge(payload)
        else:
            errors.append(payload)
    wall_s = time.perf_counter() - t_start
    for child in children:
        child.join()
    if errors:
        raise RuntimeError("; ".join(errors))
    return total, wall_s


def run_once(
    process_id: str,
    proc: dict[str, Any],
    instances: int,
    *,
    workers: int = 1,
    phases: Phases | None,
    profiler: cProfile.Profile | None,
) -> dict[str, Any]:
    from workflow.bpmn.model import ElementKind
    from workflow.engine import cache
    from workflow.models import ProcessDefinition

    # As a server caches parsed definitions, the graph is built before the clock starts
    # (the peer parses its spec before its loop too); forked drivers inherit it.
    cache.clear()
    definition_id = (
        ProcessDefinition.objects.filter(key=process_id)
        .order_by("-version")
        .values_list("pk", flat=True)
        .first()
    )
    if definition_id is None:
        raise SystemExit(f"{process_id} was not deployed")
    graph = cache.graph_for_definition(definition_id)
    boundary = {e.id for e in graph.elements.values() if e.kind is ElementKind.BOUNDARY_EVENT}

    if workers > 1:
        share, wall_s = drive_concurrently(process_id, proc, instances, workers, boundary=boundary)
    else:
        driver = Driver(phases, profiler)
        if phases:
            phases.install()
        t_start = time.perf_counter()
        share = drive(
            process_id, proc, range(instances), boundary=boundary, driver=driver, worker="bench"
        )
        wall_s = time.perf_counter() - t_start
        if phases:
            phases.uninstall()

    problems, history = verify(share.done_by_instance)
    if share.mismatches:
        problems.insert(0, f"{len(share.mismatches)} instances off the expected path")
    requests_s = (sum(share.create_ns) + sum(share.complete_ns) + sum(share.timer_ns)) / 1e9
    result: dict[str, Any] = {
        "engine": "portal",
        "process_id": process_id,
        "bpmn_file": proc["file"],
        "instances": instances,
        "workers": workers,
        "wall_s": round(wall_s, 3),
        "instances_per_s": round(instances / wall_s, 2),
        "requests_s": round(requests_s, 3),
        "user_tasks_completed": share.user_tasks,
        "user_tasks_per_instance": round(share.user_tasks / instances, 3),
        "timer_jobs": share.timer_jobs,
        "complete_request_ms": summary_ms(share.complete_ns),
        "create_request_ms": summary_ms(share.create_ns),
        "timer_job_ms": summary_ms(share.timer_ns),
        "driver_lookup_ms": summary_ms(share.lookup_ns),
        "history_rows": history,
        "verification": "ok" if not problems else "; ".join(problems),
    }
    if workers == 1:  # with several drivers, request time overlaps: no such figure
        result["instances_per_s_requests"] = round(instances / requests_s, 2)
    else:
        result["timer_ticks_that_ran_another_drivers_job"] = share.ticks_without_own_job
    if share.mismatches:
        result["mismatch_examples"] = share.mismatches[:3]
    return result


def verify(done_by_instance: dict[int, list[str]]) -> tuple[list[str], dict[str, Any]]:
    """Check the database after a run (the run's database holds only its instances)."""
    from django.db import connection

    problems: list[str] = []

    def fetch(sql: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    states = dict(fetch("SELECT id, state FROM workflow_processinstance"))
    if set(states) != set(done_by_instance):
        problems.append(f"{len(states)} instance rows for {len(done_by_instance)} started")
    unfinished = sum(1 for s in states.values() if s != "completed")
    if unfinished:
        problems.append(f"{unfinished} instances not completed")
    tasks: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for instance_id, element_id, state in fetch(
        "SELECT instance_id, element_id, state FROM workflow_task"
    ):
        if state != "completed":
            problems.append(f"task {element_id} of instance {instance_id} is {state}")
        tasks[instance_id][element_id] += 1
    differing = sum(
        1 for iid, done in done_by_instance.items() if tasks[iid] != collections.Counter(done)
    )
    if differing:
        problems.append(f"{differing} instances whose task rows differ from the tasks completed")
    for sql, label in (
        ("SELECT COUNT(*) FROM workflow_execution", "tokens"),
        ("SELECT COUNT(*) FROM workflow_job WHERE instance_id IS NOT NULL", "jobs"),
        ("SELECT COUNT(*) FROM workflow_subscription", "subscriptions"),
        ("SELECT COUNT(*) FROM workflow_incident", "incidents"),
    ):
        left = fetch(sql)[0][0]
        if left:
            problems.append(f"{left} {label} left")
    counts = [
        c
        for _iid, c in fetch(
            "SELECT instance_id, COUNT(*) FROM workflow_historyevent GROUP BY instance_id"
        )
    ]
    history = {
        "total": sum(counts),
        "per_instance_mean": round(sum(counts) / max(len(done_by_instance), 1), 2),
        "per_instance_min": min(counts, default=0),
        "per_instance_max": max(counts, default=0),
    }
    return problems[:10], history


# --- environment facts ----------------------------------------------------------------------


def code_fingerprint() -> dict[str, Any]:
    """Which engine code ran: the commit, whether the engine's files differ from it (others
    change them while benchmarks run), and a hash of their contents."""
    files = sorted((ROOT / "workflow").rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        if "migrations" not in path.parts:
            digest.update(path.read_bytes())
    out: dict[str, Any] = {"workflow_sha256": digest.hexdigest()[:16]}
    snapshot = os.environ.get("BENCH_SNAPSHOT_COMMIT")
    if snapshot:  # a frozen copy of a commit (compare.py --snapshot): no .git here
        out.update(commit=snapshot, workflow_uncommitted_changes=False, snapshot=True)
        return out
    with contextlib.suppress(Exception):
        git = ["git", "--no-optional-locks", "-C", str(ROOT)]  # read-only, takes no lock
        head = subprocess.run(  # noqa: S603 - fixed read-only git command
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603 - fixed read-only git command
            [*git, "status", "--porcelain", "--", "workflow"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        out["commit"] = head
        out["workflow_uncommitted_changes"] = bool(dirty)
    return out


def database_facts() -> dict[str, Any]:
    from django.db import connection

    settings = connection.settings_dict
    facts: dict[str, Any] = {
        "conn_max_age": settings.get("CONN_MAX_AGE"),
        "conn_health_checks": settings.get("CONN_HEALTH_CHECKS"),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            import sqlite3

            cursor.execute("PRAGMA journal_mode")
            facts["journal_mode"] = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            facts["synchronous"] = cursor.fetchone()[0]
            facts["sqlite_version"] = sqlite3.sqlite_version
            facts["transaction_mode"] = settings["OPTIONS"].get("transaction_mode")
        else:
            for name in ("server_version", "synchronous_commit", "fsync"):
                cursor.execute("SHOW " + name)
                facts[name] = cursor.fetchone()[0]
            facts["psycopg"] = pkg_version("psycopg")
            facts["server_side_binding"] = settings["OPTIONS"].get("server_side_binding")
            facts["prepare_threshold"] = settings["OPTIONS"].get("prepare_threshold")
    return facts


def print_human(r: dict[str, Any]) -> None:
    c, cr, t = r["complete_request_ms"], r["create_request_ms"], r.get("timer_job_ms")
    timer = f"; timer job p50 {t['p50']} p95 {t['p95']} ms" if t else ""
    requests_only = (
        f"{r['instances_per_s_requests']} counting requests only"
        if "instances_per_s_requests" in r
        else f"{r['workers']} driver processes"
    )
    print(
        f"portal {r['process_id']} on {r['db']} (run {r['run']}): {r['instances']} instances in "
        f"{r['wall_s']} s = {r['instances_per_s']} inst/s ({requests_only}); "
        f"user tasks {r['user_tasks_completed']}, timer jobs {r['timer_jobs']}"
    )
    print(
        f"  complete p50 {c['p50']} p95 {c['p95']} mean {c['mean']} ms; "
        f"create p50 {cr['p50']} p95 {cr['p95']} ms{timer}; "
        f"history rows/instance {r['history_rows']['per_instance_mean']}; "
        f"verification: {r['verification']}"
    )
    if "phases" in r:
        for kind in ("create", "complete", "timer"):
            p = r["phases"].get(kind)
            if p:
                print(
                    f"  {kind:8s} {p['total_ms_mean']:.3f} ms = execute {p['execute_ms_mean']:.3f}"
                    f" ({p['statements_mean']} statements) + commit {p['commit_ms_mean']:.3f}"
                    f" + health check {p['health_ms_mean']:.3f} + Python {p['python_ms_mean']:.3f}"
                )
        for kind in ("create", "complete", "timer"):
            statements = [s for s in r["phases"]["statements"] if s["request"] == kind]
            if statements:
                print(f"  {kind}-request statements, by share of execute time:")
            for s in statements[:15]:
                print(
                    f"    {s['share_of_execute']:6.1%} {s['per_request']:5.2f}/req "
                    f"{s['mean_us']:7.1f} us  {s['sql'][:110]}"
                )
    if "profile" in r:
        print(f"  cProfile of the complete requests ({r['profile']['file']}), share of tottime:")
        for label, share in r["profile"]["buckets"].items():
            print(f"    {share:6.1%}  {label}")
        print("  top functions by own time (tottime):")
        for f in r["profile"]["top_tottime"][:20]:
            print(f"    {f['share']:6.1%} {f['calls']:8d}  {f['function']}")
        print("  engine functions by cumulative time (share of all profiled time):")
        for f in r["profile"]["engine_cumtime"][:20]:
            print(f"    {f['share']:6.1%} {f['calls']:8d}  {f['function']}")


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="*", help="BPMN files of the workload (default: all)")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_PG_DSN", DEFAULT_PG_DSN),
        help="PostgreSQL server to make throwaway databases on (URL or key=value; its "
        "database is only used to create and drop them); default %(default)s",
    )
    ap.add_argument("-n", "--instances", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=1, help="runs per file (default 1)")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="driver processes on one database, each playing every k-th instance (default 1)",
    )
    ap.add_argument("--workload", default=str(DEFAULT_WORKLOAD))
    ap.add_argument("--json-out", help="append one JSON line per run to this file")
    ap.add_argument("--phases", action="store_true", help="split requests (slows them down)")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the complete requests")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    if args.workers > 1 and (args.phases or args.profile):
        ap.error("--phases and --profile measure one driver: use them with --workers 1")
    # paths as given, before configure_environment() changes the working directory
    for name in ("workload", "json_out", "profile"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))

    workload_path = Path(args.workload)
    workload = json.loads(workload_path.read_text())
    chosen = pick_processes(workload, args.files)
    bpmn_files = sorted({workload_path.parent / p["file"] for _pid, p in chosen})

    databases: SqliteDatabases | PostgresDatabases = (
        SqliteDatabases() if args.db == "sqlite" else PostgresDatabases(args.dsn)
    )
    failures = 0
    try:
        configure_environment(databases.template_env())
        import django

        django.setup()
        replaced = register_noop_applications()
        queue_announcements_like_a_broker()
        prepare_template(bpmn_files)
        databases.seal_template()
        versions = {
            "python": platform.python_version(),
            "django": django.get_version(),
            "nproc": os.cpu_count(),
            "machine": platform.machine(),
            "stubbed_real_applications": replaced,
            "engine_path": str(Path(sys.modules["workflow"].__file__ or "").parent),
            **code_fingerprint(),
        }
        for run in range(1, args.repeat + 1):
            for process_id, proc in chosen:
                name = databases.new_run()
                use_database(name)
                try:
                    facts = database_facts()
                    phases = Phases() if args.phases else None
                    profiler = cProfile.Profile() if args.profile else None
                    result = run_once(
                        process_id,
                        proc,
                        args.instances,
                        workers=args.workers,
                        phases=phases,
                        profiler=profiler,
                    )
                    result.update(
                        db=databases.kind,
                        db_info=facts,
                        run=run,
                        instrumented=bool(phases or profiler),
                        rss_mib_peak=round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                        ),
                        finished_at=datetime.datetime.now(datetime.UTC).isoformat(
                            timespec="seconds"
                        ),
                        **versions,
                    )
                    if phases:
                        result["phases"] = phases.report()
                    if profiler:
                        path = args.profile
                        if args.repeat > 1 or len(chosen) > 1:
                            path = f"{path}.{process_id}.{databases.kind}.{run}"
                        result["profile"] = profile_report(profiler, path)
                finally:
                    from django.db import connection

                    connection.close()
                    databases.drop_run(name)
                print_human(result)
                if result["verification"] != "ok":
                    failures += 1
                    print(json.dumps(result.get("mismatch_examples")), file=sys.stderr)
                if args.json_out:
                    with open(args.json_out, "a") as out:
                        out.write(json.dumps(result) + "\n")
                sys.stdout.flush()
    finally:
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        databases.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
