#!/usr/bin/env python3
"""The inbox and the monitoring console at scale: server time and query plans.

One command:

    .venv/bin/python bench/inbox_scale.py              # generate, measure, drop: ~10 minutes
    .venv/bin/python bench/inbox_scale.py --keep       # ... and keep the database
    .venv/bin/python bench/inbox_scale.py --reuse bench_scale_1234 --plans

1. **Data** (``bench/scale_data.py``): a new PostgreSQL database ``bench_scale_<pid>`` on the
   server of ``--dsn``, migrated, with 10,000 people in a department tree, seven deployed
   processes, 200,000 instances over two years, about 930,000 tasks with their candidates,
   history, tokens, jobs, incidents and 抄送 copies, loaded with COPY and VACUUM ANALYZEd; row
   counts per table are printed. ``--reuse NAME`` skips this and measures a database made
   before (it is migrated first, so a new index applies); ``--keep`` keeps the new one.
2. **Server time**: every request goes through Django's test ``Client`` in this process,
   against that database with the production settings (``portal/settings.py`` with
   ``DEBUG=0``: persistent connections, server-side binding and prepared statements, every
   middleware, sessions in the database, templates rendered), the application loaded as a
   gunicorn worker loads it (``portal.wsgi``, with its garbage collector settings). What is
   timed is the WSGI handler's work for one request, from the request object to the
   rendered response: what a gunicorn worker spends on it, without the network. The API's
   per-user throttle is raised (``API_THROTTLE_USER``) so that the repetitions are not
   refused. For each persona
   (the manager with the most open tasks, a finance reviewer who claims from a candidate
   role, an employee with a median history, a process administrator) and each request:
   warm-up requests, then ``--repeat`` timed ones (p50 / p95 / max in ms), and the number
   of SQL queries (``CaptureQueriesContext``) of one more.
3. **Plans**: each SQL query of that request is run again with ``EXPLAIN (ANALYZE,
   BUFFERS)``; the request's slowest query is summarized (one line per plan node) and any
   ``Seq Scan`` on a big table is reported: tasks, instances, history, candidates, copies,
   tokens, jobs, when they hold 20,000 rows or more (tokens and jobs hold only the running
   work, about 10,000 and 8,000 rows here: a scan of them is printed as a note).
   ``--plans`` prints every query's full plan. The queries are explained with their
   parameters inlined (a custom plan); a prepared statement reused more than five times
   may run a generic plan, which the timings include.

Verdicts, one line each, and a non-zero exit on any FAIL: the data keeps the invariants the
pages rely on (no open task of an ended instance, a token under every open task, candidates
for every unclaimed one ...); every request answers 200, its p95 is at most ``--p95-ms``
(50), and none of its queries scans a big table sequentially.

Timings are noisy on a shared machine; compare runs made on the same machine alone.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
# the tables that grow with the company's history; "big" from BIG_ROWS rows (the live-work
# tables, tokens and jobs, hold only what runs now: a scan of them is printed as a note)
BIG_ROWS = 20_000
BIG_TABLES = frozenset(
    {
        "workflow_task",
        "workflow_processinstance",
        "workflow_historyevent",
        "workflow_taskcandidate",
        "workflow_carboncopy",
        "workflow_execution",
        "workflow_job",
    }
)
COUNTED_TABLES = (
    "portal_department",
    "portal_user",
    "portal_user_groups",
    "workflow_processdefinition",
    "workflow_processinstance",
    "workflow_task",
    "workflow_taskcandidate",
    "workflow_historyevent",
    "workflow_execution",
    "workflow_job",
    "workflow_incident",
    "workflow_carboncopy",
)
WARM_UP = 6  # psycopg prepares a statement on its 5th run on a connection


# --- the database ------------------------------------------------------------------------------


def server_url(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return parts._replace(path=f"/{name}").geturl()


def admin(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def configure(database_url: str) -> None:
    """The production settings on ``database_url``, then Django set up."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    if len(os.environ.get("SECRET_KEY", "")) < 50:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["API_THROTTLE_USER"] = "1000000/min"
    os.environ["WORKFLOW_EMBEDDED_SWEEP"] = "0"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # as a gunicorn worker starts: the application loaded, and with it the worker's garbage
    # collector settings (portal/wsgi.py)
    import portal.wsgi  # noqa: F401


# --- what is measured --------------------------------------------------------------------------


@dataclass
class Persona:
    role: str  # what kind of user this is
    username: str
    note: str = ""


@dataclass
class Probe:
    """One request as a persona makes it."""

    name: str
    persona: Persona
    url: str
    htmx: bool = False
    durations_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)
    plan_lines: list[str] = field(default_factory=list)
    full_plans: list[str] = field(default_factory=list)
    seq_scans: list[tuple[str, str]] = field(default_factory=list)  # (table, query)
    sql_ms: float = 0.0


def pick_personas() -> dict[str, Persona]:
    """The users to measure as, chosen from the data (not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT assignee, COUNT(*) FROM workflow_task WHERE state = 'open' AND assignee <> '' "
            "GROUP BY assignee ORDER BY 2 DESC, 1 LIMIT 1"
        )
        manager, open_count = cursor.fetchone()
        cursor.execute(
            "SELECT u.username, COUNT(t.id) FROM portal_user u "
            "JOIN portal_user_groups g ON g.user_id = u.id "
            "JOIN portal_role r ON r.group_ptr_id = g.group_id AND r.code = 'finance_reviewer' "
            "LEFT JOIN workflow_task t ON t.completed_by = u.username "
            "GROUP BY u.username ORDER BY 2 DESC, 1 LIMIT 1"
        )
        reviewer, reviewer_done = cursor.fetchone()
        cursor.execute(
            "SELECT initiator, n FROM (SELECT initiator, COUNT(*) AS n, "
            "ROW_NUMBER() OVER (ORDER BY COUNT(*), initiator) AS r, COUNT(*) OVER () AS total "
            "FROM workflow_processinstance i JOIN portal_user u ON u.username = i.initiator "
            "WHERE NOT EXISTS (SELECT 1 FROM portal_user_groups g WHERE g.user_id = u.id) "
            "GROUP BY initiator) s WHERE r = total / 2"
        )
        employee, started = cursor.fetchone()
        cursor.execute(
            "SELECT u.username FROM portal_user u JOIN portal_user_groups g ON g.user_id = u.id "
            "JOIN portal_role r ON r.group_ptr_id = g.group_id AND r.code = 'process_admin' "
            "ORDER BY u.username LIMIT 1"
        )
        (administrator,) = cursor.fetchone()
    return {
        "manager": Persona("heavy manager", manager, f"{open_count} open tasks"),
        "reviewer": Persona(
            "finance reviewer", reviewer, f"candidate role; {reviewer_done} tasks done"
        ),
        "employee": Persona("average employee", employee, f"{started} instances started"),
        "admin": Persona("process administrator", administrator, "workflow.manage_processes"),
    }


def _inbox(persona: Persona, name: str, htmx: bool = False, **params: Any) -> Probe:
    return Probe(name, persona, f"/workflow/inbox/?{urlencode(params)}", htmx=htmx)


def _next_inbox_cursor(persona: Persona, tab: str) -> str | None:
    from portal.models import User
    from workflow.selectors import inbox

    user = User.objects.get(username=persona.username)
    page = inbox.inbox_page(user, tab, inbox.InboxFilter(), size=20)  # type: ignore[arg-type]
    return page.next.encode() if page.next else None


def _busiest_process(persona: Persona) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT definition_key FROM workflow_task WHERE completed_by = %s "
            "GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1",
            [persona.username],
        )
        row = cursor.fetchone()
    return row[0] if row else "expense_claim"


def inbox_probes(persona: Persona, short: str) -> list[Probe]:
    """The 待办 page and its API for one persona."""
    process = _busiest_process(persona)
    probes = [
        _inbox(persona, f"{short} inbox todo", tab="todo"),
        _inbox(persona, f"{short} inbox done", tab="done"),
        _inbox(persona, f"{short} inbox started", tab="started"),
        _inbox(persona, f"{short} inbox copied", tab="copied"),
        Probe(f"{short} tab counts", persona, "/workflow/inbox/counts/?tab=todo", htmx=True),
        Probe(f"{short} badge", persona, "/workflow/inbox/badge/", htmx=True),
        _inbox(persona, f"{short} todo by process", True, tab="todo", process=process),
        _inbox(persona, f"{short} todo overdue", True, tab="todo", overdue="on"),
        _inbox(persona, f"{short} todo urgent", True, tab="todo", urgent="on"),
        _inbox(persona, f"{short} done by process", True, tab="done", process=process),
        _inbox(persona, f"{short} todo search", True, tab="todo", q="上海"),
        _inbox(persona, f"{short} done search", True, tab="done", q="恒通"),
        _inbox(persona, f"{short} done search name", True, tab="done", q="张伟"),
        _inbox(persona, f"{short} started search", True, tab="started", q="上海"),
    ]
    for tab in ("todo", "done"):
        cursor = _next_inbox_cursor(persona, tab)
        if cursor:
            probes.append(_inbox(persona, f"{short} {tab} page 2", True, tab=tab, cursor=cursor))
    api = "/api/v1/tasks/?"
    probes += [
        Probe(f"{short} api todo", persona, api + "tab=todo"),
        Probe(f"{short} api done", persona, api + "tab=done"),
        Probe(f"{short} api todo by process", persona, api + urlencode({"process": process})),
        Probe(f"{short} api todo overdue", persona, api + "tab=todo&overdue=true"),
        Probe(f"{short} api todo search", persona, api + urlencode({"q": "上海"})),
        Probe(f"{short} api done search", persona, api + urlencode({"tab": "done", "q": "恒通"})),
        Probe(f"{short} api copied", persona, api + "tab=copied"),
    ]
    return probes


def console_probes(persona: Persona) -> list[Probe]:
    """The monitoring console's lists as a process administrator."""
    from django.db import connection

    from portal.keyset import Cursor
    from workflow.selectors import statistics as statistics_reads

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.id FROM portal_department d JOIN portal_user u ON u.department_id = d.id "
            "WHERE d.depth = 3 GROUP BY d.id ORDER BY COUNT(*) DESC LIMIT 1"
        )
        (department,) = cursor.fetchone()
        cursor.execute("SELECT business_key FROM workflow_processinstance ORDER BY id LIMIT 1")
        (business_key,) = cursor.fetchone()
    first = list(statistics_reads.console_instances(statistics_reads.InstanceFilter())[:25])
    after = Cursor(first[-1].started_at, 0, first[-1].pk).encode()
    console = "/workflow/console/?"
    return [
        Probe("admin console", persona, "/workflow/console/"),
        Probe("admin console page 2", persona, console + f"after={after}", htmx=True),
        Probe("admin console running", persona, console + "state=active"),
        Probe("admin console suspended", persona, console + "state=suspended"),
        Probe(
            "admin console process+state", persona, console + "key=leave_request&state=completed"
        ),
        Probe(
            "admin console older than 30 d", persona, console + "state=active&older_than_days=30"
        ),
        Probe("admin console search text", persona, console + urlencode({"q": "恒通"})),
        Probe("admin console search key", persona, console + urlencode({"q": business_key})),
        Probe("admin console search id", persona, console + "q=123456"),
        Probe("admin console initiator", persona, console + urlencode({"initiator": "张伟"})),
        Probe("admin console department", persona, console + f"department={department}"),
        Probe("admin incidents", persona, "/workflow/console/incidents/"),
        Probe("admin incidents resolved", persona, "/workflow/console/incidents/?status=resolved"),
        Probe("admin jobs", persona, "/workflow/console/jobs/"),
        Probe("admin api incidents", persona, "/api/v1/incidents/"),
        Probe("admin api instances", persona, "/api/v1/instances/"),
    ]


# --- measuring ---------------------------------------------------------------------------------


def measure(probes: Sequence[Probe], repeat: int, log: Callable[[str], None]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal.models import User

    clients: dict[str, Client] = {}
    for probe in probes:
        client = clients.get(probe.persona.username)
        if client is None:
            client = clients[probe.persona.username] = Client()
            client.force_login(User.objects.get(username=probe.persona.username))
        headers = {"HX-Request": "true"} if probe.htmx else {}
        for _n in range(WARM_UP):
            probe.statuses.add(client.get(probe.url, headers=headers).status_code)
        for _n in range(repeat):
            started = time.perf_counter_ns()
            response = client.get(probe.url, headers=headers)
            probe.durations_ms.append((time.perf_counter_ns() - started) / 1e6)
            probe.statuses.add(response.status_code)
        with CaptureQueriesContext(connection) as captured:
            client.get(probe.url, headers=headers)
        probe.queries = [q["sql"] for q in captured.captured_queries if q["sql"]]
        log(f"  {probe.name:<36} p95 {nearest_rank(probe.durations_ms, 0.95):7.1f} ms")


def nearest_rank(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def _walk(node: dict[str, Any], depth: int, lines: list[str], scans: list[str]) -> None:
    relation = node.get("Relation Name", "")
    index = node.get("Index Name", "")
    kind = node["Node Type"]
    if kind == "Seq Scan" and relation in BIG_TABLES:
        scans.append(relation)
    target = f" on {relation}" if relation else ""
    target += f" using {index}" if index else ""
    loops = node.get("Actual Loops", 1)
    lines.append(
        f"{'  ' * depth}{kind}{target} (rows {node.get('Actual Rows', 0):g}"
        f"{f' x{loops}' if loops > 1 else ''}, {node.get('Actual Total Time', 0):.2f} ms)"
    )
    for child in node.get("Plans", []):
        _walk(child, depth + 1, lines, scans)


def explain(probes: Sequence[Probe], full: bool) -> None:
    """EXPLAIN ANALYZE every SELECT of each probe; the slowest one's plan in brief."""
    from django.db import connection

    for probe in probes:
        slowest: tuple[float, list[str], str] = (-1.0, [], "")
        probe.sql_ms = 0.0
        for sql in probe.queries:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                (document,) = cursor.fetchone()
                if full:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                    text = "\n".join(row[0] for row in cursor.fetchall())
                    probe.full_plans.append(f"{sql}\n{text}")
            plan = document[0] if isinstance(document, list) else json.loads(document)[0]
            lines: list[str] = []
            scans: list[str] = []
            _walk(plan["Plan"], 2, lines, scans)
            probe.seq_scans += [(table, sql[:160]) for table in scans]
            took = plan.get("Execution Time", 0.0)
            probe.sql_ms += took
            if took > slowest[0]:
                slowest = (took, lines, sql)
        if slowest[0] >= 0:
            probe.plan_lines = [
                f"    slowest query {slowest[0]:.2f} ms: {slowest[2][:200]}",
                *slowest[1],
            ]


# --- report ------------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in COUNTED_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
            (counts[table],) = cursor.fetchone()
    return counts


def report(
    probes: Sequence[Probe], counts: dict[str, int], limit_ms: float, show_plans: bool
) -> int:
    big = {table for table in BIG_TABLES if counts.get(table, 0) >= BIG_ROWS}
    print(f"\nbig tables (>= {BIG_ROWS:,} rows): {', '.join(sorted(big))}")
    failures = 0
    print()
    print(
        f"{'request':<38} {'n':>3} {'sql':>4} {'sql ms':>7} {'p50':>7} {'p95':>7} "
        f"{'max':>7}  verdicts"
    )
    for probe in probes:
        p50 = statistics.median(probe.durations_ms)
        p95 = nearest_rank(probe.durations_ms, 0.95)
        worst = max(probe.durations_ms)
        answered = probe.statuses == {200}
        fast = p95 <= limit_ms
        indexed = not any(table in big for table, _sql in probe.seq_scans)
        verdicts = [
            "" if answered else f"FAIL status {sorted(probe.statuses)}",
            f"{'PASS' if fast else 'FAIL'} p95<={limit_ms:g}ms",
            f"{'PASS' if indexed else 'FAIL'} no-seq-scan",
        ]
        failures += (not answered) + (not fast) + (not indexed)
        print(
            f"{probe.name:<38} {len(probe.durations_ms):>3} {len(probe.queries):>4} "
            f"{probe.sql_ms:>7.1f} {p50:>7.1f} {p95:>7.1f} {worst:>7.1f}  "
            + "  ".join(v for v in verdicts if v)
        )
    print("\nPlans (the slowest query of each request; EXPLAIN ANALYZE, parameters inlined):")
    for probe in probes:
        print(f"  {probe.name} [{probe.url}]")
        print("\n".join(probe.plan_lines))
        for table, sql in probe.seq_scans:
            what = "SEQ SCAN" if table in big else f"note: seq scan ({counts[table]:,} rows)"
            print(f"    {what} {table}: {sql}")
        if show_plans:
            for text in probe.full_plans:
                print("\n".join(f"      {line}" for line in text.splitlines()))
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--reuse", metavar="NAME", help="measure this database made before")
    parser.add_argument("--keep", action="store_true", help="keep the new database")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per probe")
    parser.add_argument("--p95-ms", type=float, default=50.0)
    parser.add_argument("--only", default="", help="probes whose name contains this")
    parser.add_argument("--plans", action="store_true", help="print every query's full plan")
    args = parser.parse_args(argv)

    name = args.reuse or f"bench_scale_{os.getpid()}"
    if not args.reuse:
        admin(args.dsn, f'CREATE DATABASE "{name}"')
    keep = args.keep or bool(args.reuse)
    try:
        configure(server_url(args.dsn, name))
        return run(args, name, created=not args.reuse)
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"database {name} dropped")
        else:
            print(f"database {name} kept: --reuse {name}")


def run(args: argparse.Namespace, name: str, *, created: bool) -> int:
    import scale_data
    from django.core.management import call_command

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    if created:
        log(f"generating into {name} ...")
        scale = scale_data.Scale(users=args.users, instances=args.instances, seed=args.seed)
        scale_data.generate(scale, sys.stdout)
    log(f"database {name} ready in {time.monotonic() - started:.0f} s; rows:")
    counts = row_counts()
    for table, count in counts.items():
        log(f"  {table:<30} {count:>10,}")
    broken = 0
    for invariant, count in scale_data.check_invariants().items():
        broken += bool(count)
        log(f"  {'PASS' if not count else 'FAIL'} data: {invariant}: {count}")
    personas = pick_personas()
    for persona in personas.values():
        log(f"  persona {persona.role:<22} {persona.username:<16} {persona.note}")
    probes: list[Probe] = []
    for short in ("manager", "reviewer", "employee"):
        probes += inbox_probes(personas[short], short)
    probes += console_probes(personas["admin"])
    if args.only:
        probes = [p for p in probes if args.only in p.name]
    log(f"measuring {len(probes)} requests x {args.repeat} ...")
    measure(probes, args.repeat, log)
    explain(probes, args.plans)
    failures = broken + report(probes, counts, args.p95_ms, args.plans)
    checks = 3 * len(probes) + len(scale_data.INVARIANTS)
    print(f"\n{'FAIL' if failures else 'PASS'}: {failures} failed checks of {checks}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
