#!/usr/bin/env python3
"""The integration console's statistics over a million logged calls, on PostgreSQL.

    .venv/bin/python bench/integration_stats.py          # 1,000,000 calls: generate, measure, drop
    .venv/bin/python bench/integration_stats.py --keep          # ... keep bench_calls_<pid>
    .venv/bin/python bench/integration_stats.py --reuse bench_calls_1234 --repeat 100

1. **Data**: ``-n`` (1,000,000) ``InterfaceCall`` rows over the last 30 days and 20
   interface/operation pairs: the Tryton ERP (sales orders, expense postings, employees,
   departments, master-data pulls, order status, invoices), a Kingdee gateway through the
   HTTP adapter, outbound webhooks, the inbound API and inbound webhooks. Working hours
   (08:00-20:00 Beijing time) carry 85 % of the calls, weekends a fifth of a weekday's;
   durations are log-normal around each operation's median; each interface has its own
   error rate, and the ERP was down for 45 minutes on day 20 (every call a time-out). Written
   with COPY; then the roll-up ``CallStat`` made from them with one ``INSERT ... SELECT ...
   GROUP BY`` per grain using the recorder's rules (``erp_bridge.calls``: the minute, and the
   hour where the model has ``grain``; the histogram buckets of ``BUCKETS_MS``), and each
   grain checked against the log (calls, errors, summed durations). ``VACUUM ANALYZE``.
2. **Queries**, as the console runs them: ``erp_bridge.selectors.interface_summary(since=)``
   over 1 h, 24 h, 7 d and 30 d; ``interface_series(interface=, since=, step=)`` for the
   Tryton ERP over 24 h by 5 minutes (and over 7 d by one hour); the recent failures. Where a
   selector does not exist yet, a stand-in query over the same tables is timed instead and
   the line says so. Each: warm-up, then ``--repeat`` (50) timed runs: p50 / p95 / max.
3. ``EXPLAIN (ANALYZE, BUFFERS)`` of every statement of the slowest query.

A query whose p95 is over ``--p95-ms`` (100) prints FAIL and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import inspect
import math
import os
import random
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BEIJING = datetime.timezone(datetime.timedelta(hours=8))

# (interface, direction, operation, share of calls, median ms, error rate, refused rate)
PAIRS: list[tuple[str, str, str, float, float, float, float]] = [
    ("erp:tryton", "out", "sales_order_create", 0.08, 180, 0.010, 0.010),
    ("erp:tryton", "out", "expense_post", 0.06, 220, 0.010, 0.015),
    ("erp:tryton", "out", "employee_create", 0.005, 260, 0.010, 0.010),
    ("erp:tryton", "out", "department_upsert", 0.002, 150, 0.010, 0.005),
    ("erp:tryton", "out", "products", 0.01, 900, 0.020, 0.0),
    ("erp:tryton", "out", "customers", 0.01, 700, 0.020, 0.0),
    ("erp:tryton", "out", "employees", 0.005, 600, 0.020, 0.0),
    ("erp:tryton", "out", "sales_order_status", 0.08, 60, 0.005, 0.0),
    ("erp:tryton", "out", "invoices", 0.04, 120, 0.005, 0.0),
    ("erp:tryton", "out", "budget", 0.03, 80, 0.005, 0.0),
    ("erp:kingdee", "out", "sales_order_create", 0.04, 350, 0.030, 0.020),
    ("erp:kingdee", "out", "customers", 0.005, 1200, 0.040, 0.0),
    ("webhook:out", "out", "order.created", 0.03, 90, 0.050, 0.0),
    ("webhook:out", "out", "instance.finished", 0.05, 90, 0.050, 0.0),
    ("api:v1", "in", "GET /api/v1/tasks/", 0.25, 25, 0.002, 0.010),
    ("api:v1", "in", "POST /api/v1/instances/", 0.08, 60, 0.004, 0.020),
    ("api:v1", "in", "GET /api/v1/erp/products/", 0.12, 18, 0.001, 0.005),
    ("api:v1", "in", "POST /api/v1/tasks/{id}/approve", 0.08, 45, 0.003, 0.015),
    ("webhook:in", "in", "order.shipped", 0.01, 12, 0.0, 0.010),
    ("webhook:in", "in", "invoice.paid", 0.007, 12, 0.0, 0.010),
]
ERRORS = {
    "out": ("ConnectTimeout: the ERP did not answer within 10 s", 504),
    "in": ("internal error", 500),
}
REFUSALS = {
    "sales_order_create": ("产品不存在: P0417 (MATERIAL_NOT_EXIST)", 422),
    "expense_post": ("会计期间已关闭 (PERIOD_CLOSED)", 422),
    "employee_create": ("员工编号重复 (DUPLICATE_CODE)", 409),
    "department_upsert": ("部门编码不合法", 422),
}


def server_url(dsn: str, name: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{name}").geturl()


def configure(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    if len(os.environ.get("SECRET_KEY", "")) < 50:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["WORKFLOW_EMBEDDED_SWEEP"] = "0"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- the data --------------------------------------------------------------------------------


def moments(rng: random.Random, n: int, now: datetime.datetime) -> list[datetime.datetime]:
    """``n`` times over the 30 days before ``now``: working hours and weekdays weighted."""
    start = (now - datetime.timedelta(days=30)).astimezone(BEIJING)
    hours = []
    weights = []
    for h in range(30 * 24 + 1):
        t = start + datetime.timedelta(hours=h)
        weight = 85 / 12 if 8 <= t.hour < 20 else 15 / 12
        weights.append(weight * (0.2 if t.weekday() >= 5 else 1.0))
        hours.append(t)
    picked = rng.choices(range(len(hours)), weights=weights, k=n)
    out = []
    for index in picked:
        at = hours[index].replace(minute=0, second=0, microsecond=0) + datetime.timedelta(
            seconds=rng.random() * 3600
        )
        if start <= at <= now:
            out.append(at)
        else:
            out.append(now - datetime.timedelta(seconds=rng.random() * 86400 * 30))
    out.sort()
    return out


def generate(n: int, seed: int, log: Callable[[str], None]) -> None:
    from django.db import connection
    from django.utils import timezone

    from erp_bridge.models import CallStat, InterfaceCall

    rng = random.Random(seed)
    now = timezone.now()
    outage_start = (
        (now - datetime.timedelta(days=10))
        .astimezone(BEIJING)
        .replace(hour=10, minute=15, second=0, microsecond=0)
    )
    outage_end = outage_start + datetime.timedelta(minutes=45)
    pair_weights = [p[3] for p in PAIRS]
    began = time.perf_counter()
    times = moments(rng, n, now)
    table = InterfaceCall._meta.db_table
    columns = (
        "interface, direction, operation, at, duration_ms, outcome, status_code, error, "
        "idempotency_key, payload_digest, caller"
    )
    with connection.cursor() as cursor:
        raw = cursor.connection
        with raw.cursor() as pg, pg.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for at, index in zip(
                times, rng.choices(range(len(PAIRS)), pair_weights, k=n), strict=True
            ):
                interface, direction, operation, _share, median, error_rate, refused_rate = PAIRS[
                    index
                ]
                duration = int(median * math.exp(rng.gauss(0, 0.6)))
                draw = rng.random()
                outcome, status, error = "ok", 200, ""
                if interface == "erp:tryton" and outage_start <= at < outage_end:
                    outcome, duration = "error", 10000 + rng.randrange(50)
                    error, status = ERRORS["out"]
                elif draw < error_rate:
                    outcome, (error, status) = "error", ERRORS[direction]
                    duration = 10000 + rng.randrange(50) if direction == "out" else duration
                elif draw < error_rate + refused_rate:
                    outcome = "refused"
                    error, status = REFUSALS.get(operation, ("请求字段不合法: amount", 400))
                writes = direction == "out" and not operation.endswith("s")
                copy.write_row(
                    (
                        interface,
                        direction,
                        operation,
                        at,
                        duration,
                        outcome,
                        status,
                        error,
                        secrets.token_hex(16) if writes else "",
                        f"{rng.getrandbits(256):064x}",
                        f"client-{rng.randrange(12)}" if direction == "in" else "",
                    )
                )
    log(f"  {n:,} interface calls written with COPY in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    from erp_bridge.models.calls import BUCKETS_MS

    stat = CallStat._meta.db_table
    lower = [-1, *BUCKETS_MS]
    buckets = [
        f"count(*) FILTER (WHERE duration_ms > {lower[i]} AND duration_ms <= {BUCKETS_MS[i]})"
        for i in range(len(BUCKETS_MS))
    ] + [f"count(*) FILTER (WHERE duration_ms > {BUCKETS_MS[-1]})"]
    names = ", ".join(f"b{i}" for i in range(len(buckets)))
    # the recorder's grains (erp_bridge.calls._upsert_stats): the minute, and where the model
    # has ``grain`` also the hour (UTC), each a complete roll-up of the log
    grains = {1: "minute", 60: "hour"} if _has_grain() else {0: "minute"}
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
        for grain, unit in grains.items():
            grain_column, grain_value = ("grain, ", f"{grain}, ") if grain else ("", "")
            cursor.execute(
                f"INSERT INTO {stat} (interface, operation, {grain_column}minute, calls, "  # noqa: S608
                f"errors, total_ms, {names}) "
                f"SELECT interface, operation, {grain_value}date_trunc('{unit}', at), count(*), "
                f"count(*) FILTER (WHERE outcome <> 'ok'), sum(duration_ms), "
                f"{', '.join(buckets)} FROM {table} GROUP BY 1, 2, 3" + (", 4" if grain else "")
            )
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE outcome <> 'ok'), sum(duration_ms) "  # noqa: S608
            f"FROM {table}"
        )
        calls, errors, ms = cursor.fetchone()
        for grain, unit in grains.items():
            where = f"WHERE grain = {grain}" if grain else ""
            cursor.execute(
                f"SELECT count(*), sum(calls), sum(errors), sum(total_ms) FROM {stat} {where}"  # noqa: S608
            )
            rows, stat_calls, stat_errors, stat_ms = cursor.fetchone()
            log(
                f"  {rows:,} CallStat rows per {unit}; consistent with the log: calls "
                f"{calls:,} = {stat_calls:,}, errors {errors:,} = {stat_errors:,}, duration "
                f"{ms:,} = {stat_ms:,} ms"
            )
            if (calls, errors, ms) != (stat_calls, stat_errors, stat_ms):
                raise SystemExit("the roll-up does not match the log")
    log(f"  roll-up made and checked in {time.perf_counter() - began:.1f} s")
    analyze()


def _has_grain() -> bool:
    from erp_bridge.models import CallStat

    return any(f.name == "grain" for f in CallStat._meta.get_fields())


def analyze() -> None:
    from django.db import connection

    from erp_bridge.models import CallStat, InterfaceCall

    with connection.cursor() as cursor:
        for model in (InterfaceCall, CallStat):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


# --- the queries -----------------------------------------------------------------------------


def _percentiles(histogram: Sequence[int]) -> tuple[float, float]:
    from erp_bridge.models.calls import BUCKETS_MS

    total = sum(histogram)
    result = []
    for share in (0.5, 0.95):
        rank, seen = math.ceil(share * total), 0
        value = float(BUCKETS_MS[-1])
        for index, count in enumerate(histogram):
            seen += count
            if seen >= rank and total:
                value = float(BUCKETS_MS[min(index, len(BUCKETS_MS) - 1)])
                break
        result.append(value)
    return result[0], result[1]


def standin_summary(*, since: datetime.datetime) -> list[dict[str, Any]]:
    """What a summary needs: per interface, calls, errors, mean and p50/p95 from the summed
    histograms of the minutes since ``since``."""
    from django.db.models import Sum

    from erp_bridge.models import CallStat

    fields = ["calls", "errors", "total_ms", *(f"b{i}" for i in range(12))]
    rows = (
        CallStat.objects.filter(minute__gte=since)
        .values("interface")
        .annotate(**{f: Sum(f) for f in fields})
        .order_by("interface")
    )
    out = []
    for row in rows:
        values: dict[str, Any] = dict(row)
        p50, p95 = _percentiles([values[f"b{i}"] for i in range(12)])
        out.append({**values, "p50": p50, "p95": p95})
    return out


def standin_series(
    *, interface: str, since: datetime.datetime, step: datetime.timedelta
) -> list[dict[str, Any]]:
    from django.db import connection

    from erp_bridge.models import CallStat

    seconds = int(step.total_seconds())
    sums = ", ".join(f"sum(b{i})" for i in range(12))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT floor(extract(epoch FROM minute) / %s) AS slot, sum(calls), sum(errors), "  # noqa: S608
            f"sum(total_ms), {sums} FROM {CallStat._meta.db_table} "
            f"WHERE interface = %s AND minute >= %s GROUP BY slot ORDER BY slot",
            [seconds, interface, since],
        )
        return [{"slot": row[0], "calls": row[1], "errors": row[2]} for row in cursor.fetchall()]


def standin_failures(*, limit: int = 50) -> list[Any]:
    from erp_bridge.models import InterfaceCall

    return list(InterfaceCall.objects.exclude(outcome="ok").order_by("-at")[:limit])


def probes(now: datetime.datetime) -> list[tuple[str, Callable[[], Any], bool]]:
    """(name, call, is it the console's own selector)."""
    from erp_bridge import selectors

    summary = getattr(selectors, "interface_summary", None)
    series = getattr(selectors, "interface_series", None)
    failures = next(
        (
            getattr(selectors, name)
            for name in ("recent_failures", "interface_failures", "failures_recent")
            if hasattr(selectors, name)
        ),
        None,
    )
    out: list[tuple[str, Callable[[], Any], bool]] = []
    for label, delta in (
        ("1 h", datetime.timedelta(hours=1)),
        ("24 h", datetime.timedelta(hours=24)),
        ("7 d", datetime.timedelta(days=7)),
        ("30 d", datetime.timedelta(days=30)),
    ):
        since = now - delta
        call = summary or standin_summary
        out.append((f"summary {label}", functools.partial(call, since=since), summary is not None))
    for label, delta, step in (
        ("erp:tryton 24 h / 5 min", datetime.timedelta(hours=24), datetime.timedelta(minutes=5)),
        ("erp:tryton 7 d / 1 h", datetime.timedelta(days=7), datetime.timedelta(hours=1)),
    ):
        since = now - delta
        call = series or standin_series
        out.append(
            (
                f"series {label}",
                functools.partial(call, interface="erp:tryton", since=since, step=step),
                series is not None,
            )
        )
    if failures is not None:
        parameters = inspect.signature(failures).parameters
        kwargs: dict[str, Any] = {"limit": 50} if "limit" in parameters else {}
        if "since" in parameters:
            kwargs["since"] = now - datetime.timedelta(hours=24)
        out.append(("recent failures", functools.partial(failures, **kwargs), True))
    else:
        out.append(("recent failures", standin_failures, False))
    return out


def force(value: Any) -> Any:
    """Evaluate lazy results (a queryset, a generator) as the template would."""
    if isinstance(value, dict):
        return {k: force(v) for k, v in value.items()}
    if hasattr(value, "__iter__") and not isinstance(value, str | bytes | list | tuple):
        return list(value)
    return value


def nearest_rank(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def explain(call: Callable[[], Any]) -> tuple[float, list[str]]:
    """The statements of one run with their plans (long lines cut), and the database's own
    execution time summed over them (what the query costs without Django and the driver)."""
    from django.db import connection

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        force(call())
    lines: list[str] = []
    executed = 0.0
    for sql, params in recorder.statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        lines.append(f"  {' '.join(sql.split())[:300]}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            for (row,) in cursor.fetchall():
                lines.append(f"    {row[:300]}{' ...' if len(row) > 300 else ''}")
                if row.strip().startswith("Execution Time:"):
                    executed += float(row.split(":")[1].split()[0])
    return executed, lines


def measure(repeat: int, limit_ms: float, log: Callable[[str], None]) -> int:
    from django.utils import timezone

    now = timezone.now()
    rows = []
    failures = 0
    slowest: tuple[float, str, Callable[[], Any]] | None = None
    for name, call, own in probes(now):
        for _n in range(5):
            result = force(call())
        durations = []
        for _n in range(repeat):
            started = time.perf_counter_ns()
            result = force(call())
            durations.append((time.perf_counter_ns() - started) / 1e6)
        p50, p95 = nearest_rank(durations, 0.5), nearest_rank(durations, 0.95)
        executed, _plan = explain(call)
        verdict = "PASS" if p95 <= limit_ms else "FAIL"
        failures += verdict == "FAIL"
        size = len(result) if hasattr(result, "__len__") else "?"
        source = "selector" if own else "stand-in"
        rows.append(
            f"{name:<32} {p50:8.1f} {p95:8.1f} {max(durations):8.1f} {executed:8.1f}  "
            f"{verdict}  ({source}, {size} rows)"
        )
        if slowest is None or p95 > slowest[0]:
            slowest = (p95, name, call)
    log(
        f"\n{'query':<32} {'p50':>8} {'p95':>8} {'max':>8} {'in db':>8}  (ms, {repeat} runs "
        "each; in db: EXPLAIN ANALYZE's execution time of one run)"
    )
    for row in rows:
        log(row)
    if slowest is not None:
        log(f"\nEXPLAIN (ANALYZE, BUFFERS) of the slowest, {slowest[1]} (p95 {slowest[0]:.1f} ms):")
        for line in explain(slowest[2])[1]:
            log(line)
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("-n", type=int, default=1_000_000, help="logged calls (1,000,000)")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--p95-ms", type=float, default=100.0)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    args = parser.parse_args(argv)

    import psycopg

    def log(message: str) -> None:
        print(message, flush=True)

    database = args.reuse or f"bench_calls_{os.getpid()}"
    if not args.reuse:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database}")
    try:
        configure(server_url(args.dsn, database))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        log(
            f"database {database}; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
        )
        if not args.reuse:
            log(f"generating {args.n:,} logged calls over 30 days")
            generate(args.n, args.seed, log)
        failures = measure(args.repeat, args.p95_ms, log)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep and not args.reuse:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        else:
            log(f"kept {database}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
