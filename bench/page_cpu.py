#!/usr/bin/env python3
"""CPU, queries and Python calls per page of the load test's mix, in one process.

One command, from the project root (about two minutes, seeding included)::

    .venv/bin/python bench/page_cpu.py                       # seed, measure, drop
    .venv/bin/python bench/page_cpu.py --keep                # ... and keep the database
    .venv/bin/python bench/page_cpu.py --reuse bench_pages_1234 --repeat 60
    .venv/bin/python bench/page_cpu.py --reuse bench_pages_1234 --profile "employee 我发起的"

The load test (``bench/load.py``) saturates two cores, so its latencies follow the host's
phase; its figure that does not is the CPU a page costs. This bench measures that figure
page by page, without the network and the load generator, so that a change to one page can
be judged in a minute and alternated with the tree before it (run each tree's copy of this
script against the same ``--reuse`` database):

1. **Data**: a new PostgreSQL database ``bench_pages_<pid>`` on ``--dsn``, migrated and
   seeded as the load test seeds (``bench/load_seed.py``: 25 departments of a manager and
   19 employees, the leave process, each employee's earlier requests, a third of them
   waiting for the manager).
2. **Pages**: the production settings (``DEBUG=0``, persistent connections, prepared
   statements; the application loaded as a gunicorn worker loads it, ``portal.wsgi``), a
   signed-in employee and a manager with open tasks, Django's test ``Client``. Each page
   the load test opens (the 工作台, the inbox's tabs, an instance, a task, the badge, the
   API's lists, the catalogue and the start form): warm-up requests, then ``--repeat``
   timed ones. Printed per page: CPU ms per request (this process's, ``time.process_time``:
   what a gunicorn worker spends, PostgreSQL's own time not included), wall ms, the
   number of SQL queries and of Python function calls of one request (the calls are the
   same on every run: a change's effect without the host's noise), and the response's
   size. ``--profile NAME`` prints cProfile's top functions of that page, ``--sql NAME``
   the statements of one request of it.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import DEFAULT_DSN, database_url, pg_admin  # noqa: E402  # bench/ is on the path

PASSWORD = secrets.token_urlsafe(12)  # nobody signs in: the clients are logged in directly


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--reuse", metavar="NAME", help="measure a database seeded before")
    parser.add_argument("--keep", action="store_true", help="keep the new database")
    parser.add_argument("--repeat", type=int, default=40, help="timed requests a page (40)")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile's top functions of a page")
    parser.add_argument("--sql", metavar="PAGE", help="the SQL of one request of a page")
    return parser.parse_args()


@contextlib.contextmanager
def database(args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """The database's name and whether it is new (to be seeded)."""
    if args.reuse:
        yield args.reuse, False
        return
    name = f"bench_pages_{os.getpid()}"
    pg_admin(args.dsn, f'CREATE DATABASE "{name}"')
    try:
        yield name, True
    finally:
        if args.keep:
            print(f"kept the database: {name} (--reuse {name})")
        else:
            from django.db import connections

            connections.close_all()
            pg_admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup(args: argparse.Namespace, name: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48)[:64],
            "HTTPS": "0",
            "ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": database_url(args.dsn, name),
            "CELERY_BROKER_URL": "",  # Celery eager: the seeding's jobs run in this process
            "EMAIL_BACKEND": "dummy",
            "SMS_BACKEND": "dummy",
            "LOG_LEVEL": "ERROR",
            "API_THROTTLE_USER": "1000000/hour",
        }
    )
    import portal.wsgi  # noqa: F401  # the application as a gunicorn worker loads it


def seed() -> None:
    import load_seed
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    organisation = load_seed.seed_organisation(
        departments=25, employees_per_department=19, password=PASSWORD
    )
    load_seed.deploy_leave_process()
    backlog = load_seed.seed_backlog(organisation, finished_each=2, waiting_share=1 / 3)
    print(
        f"seeded: {len(organisation.managers)} managers, {len(organisation.employees)} "
        f"employees, {backlog['seeded_instances']} requests in {time.monotonic() - started:.0f} s"
    )


def pages() -> list[tuple[str, Any, str, dict[str, str]]]:
    """(name, signed-in client, URL, headers) of each page the load test opens."""
    import load_seed
    from django.test import Client

    from portal.models import User
    from workflow.models import ProcessInstance, Task, TaskState

    open_tasks = Task.objects.filter(state=TaskState.OPEN).exclude(assignee="")
    manager = User.objects.get(username=open_tasks.values_list("assignee", flat=True)[0])
    task = open_tasks.filter(assignee=manager.username).order_by("pk").first()
    employee = User.objects.get(username=task.instance.initiator) if task else None
    if task is None or employee is None:
        raise SystemExit("the database holds no open task: seed it again")
    instance = ProcessInstance.objects.filter(initiator=employee.username).order_by("-pk").first()
    assert instance is not None
    staff, boss = Client(), Client()
    staff.force_login(employee)
    boss.force_login(manager)
    htmx = {"HTTP_HX_REQUEST": "true"}
    start = f"/workflow/processes/{load_seed.PROCESS_KEY}/start/"
    return [
        ("employee 工作台", staff, "/", {}),
        ("employee 我发起的", staff, "/workflow/inbox/?tab=started", {}),
        ("employee 待办", staff, "/workflow/inbox/?tab=todo", {}),
        ("employee instance", staff, f"/workflow/instances/{instance.pk}/", {}),
        ("employee badge", staff, "/workflow/inbox/badge/", htmx),
        ("employee catalogue", staff, "/workflow/processes/", {}),
        ("employee start form", staff, start, {}),
        ("employee API started", staff, "/api/v1/tasks/?tab=started", {}),
        ("employee API instance", staff, f"/api/v1/instances/{instance.pk}", {}),
        ("manager 待办", boss, "/workflow/inbox/?tab=todo", {}),
        ("manager task", boss, f"/workflow/tasks/{task.pk}/", {}),
        ("manager 已办", boss, "/workflow/inbox/?tab=done", {}),
        ("manager 工作台", boss, "/", {}),
    ]


def queries_of(request: Callable[[], Any], seen: list[str] | None = None) -> int:
    from django.db import connection

    seen = [] if seen is None else seen

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        request()
    return len(seen)


def calls_of(request: Callable[[], Any]) -> int:
    profile = cProfile.Profile()
    profile.enable()
    request()
    profile.disable()
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def measure(args: argparse.Namespace) -> None:
    print(f"{'page':24} {'CPU ms':>7} {'wall ms':>8} {'queries':>8} {'calls':>8} {'bytes':>7}")
    for name, client, url, headers in pages():

        def request(client: Any = client, url: str = url, headers: dict[str, str] = headers) -> Any:
            response = client.get(url, **headers)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            return response

        for _ in range(5):
            response = request()
        statements: list[str] = []
        queries, calls = queries_of(request, statements), calls_of(request)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.repeat):
            request()
        cpu_ms = (time.process_time() - cpu) / args.repeat * 1000
        wall_ms = (time.perf_counter() - wall) / args.repeat * 1000
        print(
            f"{name:24} {cpu_ms:7.2f} {wall_ms:8.2f} {queries:8d} {calls:8d} "
            f"{len(response.content):7d}"
        )
        if args.sql == name:
            for number, sql in enumerate(statements, 1):
                print(f"{number:3d}. {sql}")
        if args.profile == name:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.repeat):
                request()
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
            print(out.getvalue())


def main() -> None:
    args = parse_args()
    with database(args) as (name, new):
        setup(args, name)
        if new:
            seed()
        measure(args)


if __name__ == "__main__":
    main()
