#!/usr/bin/env python3
"""The outbox's delivery rate to a loopback receiver, with its exactly-once and ordering
checks, on PostgreSQL.

    .venv/bin/python bench/outbox.py              # 20,000 messages, 200 aggregates, 2 workers
    .venv/bin/python bench/outbox.py -n 5000 --workers 1
    .venv/bin/python bench/outbox.py --profile    # cProfile of worker 1's loop

1. **Database**: ``bench_outbox_<pid>`` on the server of ``--dsn`` (``BENCH_PG_DSN``), made,
   migrated and dropped at the end (``--keep`` keeps it). The portal's production settings
   (``DEBUG=0``, persistent connections, server-side binding with prepared statements).
2. **Messages**: ``-n`` (20,000) written through ``outbox_put`` in transactions of 500, over
   ``--aggregates`` (200) customers, round robin, each an ERP-like sales order (a reference,
   the customer, three lines) carrying its aggregate and its sequence number within it. The
   writing is not timed.
3. **The receiver**: a ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive) in a process of its own.
   It applies each ``Idempotency-Key`` once (a repeated key answers the first effect and is
   counted as a redelivery absorbed) and checks, on the first arrival of each key, that it
   is the next sequence number of its aggregate (an overtaking is an order violation).
4. **Workers**: ``--workers`` (2) separate OS processes (``bench/outbox.py _worker``, each
   with its own ``django.setup()``), each looping ``erp_bridge.outbox.outbox_deliver_due``
   as the Celery task ``deliver_outbox`` does (the task is only that call; the broker's
   wake-up is left out) until nothing is pending. The benchmark operation ``bench.order``
   is registered in each (``register_operation``): a POST with ``requests.Session``
   keep-alive, the ``Idempotency-Key`` header and ``ERP_TIMEOUT``; every call is recorded in
   the interface call log as the gateway's ``logged`` wrapper does (``erp_bridge.calls.record``,
   batched by ``collecting``).
5. **Figures**: messages/s from the receiver's first request to its last; each worker's time
   split into claim, fetch, deliver (HTTP), call log and settle; then the checks: every
   message received (each key once as an effect), redeliveries absorbed, order violations,
   every row delivered, the call log's rows. ``--target`` (500/s): the exit status is 1
   when a check fails or the rate is below it.

The same script serves the receiver and the worker loop to ``bench/faults.py``'s ERP drills
(``LoopbackErp``, ``_worker``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
OPERATION = "bench.order"


# --- the receiver ----------------------------------------------------------------------------


class LoopbackErp:
    """The far side: applies each idempotency key once and checks the order per aggregate.

    ``delay`` seconds pass after the effect is applied and before the answer (the hard case
    for a time-out: the ERP did it, the caller does not know). ``stop_listening`` and
    ``listen`` close and reopen the port (the ERP down: connections refused) keeping what
    was received, as a real ERP keeps its database."""

    def __init__(self, port: int = 0) -> None:
        self.lock = threading.Lock()
        self.delay = 0.0
        self.calls = 0
        self.calls_by_key: Counter[str] = Counter()
        self.effects: dict[str, dict[str, Any]] = {}
        self.documents: Counter[tuple[str, int]] = Counter()  # (aggregate, seq) -> effects
        self.last_seq: dict[str, int] = {}
        self.violations: list[str] = []
        self.in_flight: dict[str, str] = {}  # key -> the worker sending it
        self.by_worker: Counter[str] = Counter()
        self.first_at = 0.0
        self.last_at = 0.0
        self.port = port
        self.connections: set[socket.socket] = set()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def receive(self, key: str, worker: str, body: dict[str, Any]) -> dict[str, Any]:
        aggregate, seq = str(body.get("aggregate", "")), int(body.get("seq", -1))
        with self.lock:
            now = time.time()
            self.first_at = self.first_at or now
            self.last_at = now
            self.calls += 1
            self.calls_by_key[key] += 1
            self.by_worker[worker] += 1
            effect = self.effects.get(key)
            if effect is None:
                expected = self.last_seq.get(aggregate, -1) + 1
                if seq != expected and len(self.violations) < 1000:
                    self.violations.append(f"{aggregate}: got {seq}, expected {expected}")
                self.last_seq[aggregate] = max(seq, self.last_seq.get(aggregate, -1))
                self.documents[(aggregate, seq)] += 1
                effect = {"number": f"SO{len(self.effects) + 1:07d}", "state": "confirmed"}
                self.effects[key] = effect
            delay = self.delay
            if delay:
                self.in_flight[key] = worker
        if delay:
            time.sleep(delay)
            with self.lock:
                self.in_flight.pop(key, None)
        return effect

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": self.calls,
                "keys": len(self.calls_by_key),
                "redeliveries": self.calls - len(self.calls_by_key),
                "repeated_keys": sum(1 for n in self.calls_by_key.values() if n > 1),
                "documents": len(self.documents),
                "duplicate_documents": sum(1 for n in self.documents.values() if n > 1),
                "violations": len(self.violations),
                "violation_examples": self.violations[:5],
                "by_worker": dict(self.by_worker),
                "first_at": self.first_at,
                "last_at": self.last_at,
            }

    def handler(self) -> type[BaseHTTPRequestHandler]:
        erp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            disable_nagle_algorithm = True  # headers and body are two writes

            def setup(self) -> None:
                super().setup()
                with erp.lock:
                    erp.connections.add(self.connection)

            def finish(self) -> None:
                with erp.lock:
                    erp.connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def answer(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                with contextlib.suppress(OSError):  # the caller timed out or was killed
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)

            def do_GET(self) -> None:
                self.answer(200, erp.stats())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if self.path == "/_control":
                    erp.delay = float(body.get("delay", erp.delay))
                    self.answer(200, erp.stats())
                    return
                key = self.headers.get("Idempotency-Key", "")
                if not key:
                    self.answer(400, {"errmsg": "Idempotency-Key is required"})
                    return
                self.answer(200, erp.receive(key, self.headers.get("X-Worker", ""), body))

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listen(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def stop_listening(self) -> None:
        """The ERP goes down: the port is closed (connections refused) and the connections
        that are open are cut."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self.lock:
            open_connections = list(self.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def run_receiver(port_file: str) -> None:
    erp = LoopbackErp()
    erp.listen()
    Path(port_file).write_text(str(erp.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


# --- the settings and the operation ----------------------------------------------------------


def configure(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    if len(os.environ.get("SECRET_KEY", "")) < 50:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["WORKFLOW_EMBEDDED_SWEEP"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("CELERY_BROKER_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def register(
    url: str, operations: Sequence[str] = (OPERATION,), *, trust_env: bool = False
) -> None:
    """The loopback operation(s): POST the payload with the message's key, log the call as
    the gateway's ``logged`` wrapper does; a refused connection, a time-out or a 5xx is a
    temporary ``ErpError`` (retried), a 4xx a permanent one."""
    import requests
    from django.conf import settings
    from django.utils import timezone

    from erp_bridge import calls, transport
    from erp_bridge.gateway import ErpError
    from erp_bridge.models import OutboxMessage
    from erp_bridge.outbox import Operation, register_operation, worker_name

    # the adapters' session (erp_bridge/transport.py: the environment's proxy settings read
    # once); with --trust-env, requests' default (read again on every request), as before
    session = requests.Session() if trust_env else transport.session(url)
    me = worker_name()

    def deliver(message: OutboxMessage) -> dict[str, Any]:
        started, at = time.monotonic(), timezone.now()
        outcome, error, status = "ok", "", None
        try:
            reply = session.post(
                f"{url}/erp/{message.operation}",
                json=message.payload,
                headers={"Idempotency-Key": message.idempotency_key, "X-Worker": me},
                timeout=settings.ERP_TIMEOUT,
            )
            status = reply.status_code
            if status >= 500:
                raise ErpError(f"the ERP answered {status}", code="unavailable")
            if status >= 400:
                raise ErpError(reply.text[:500], permanent=True)
            return dict(reply.json())
        except requests.RequestException as exc:
            outcome, error = "error", f"{type(exc).__name__}"
            raise ErpError(f"the ERP cannot be reached: {error}", code="unreachable") from exc
        except ErpError as exc:
            outcome, error = ("refused" if exc.permanent else "error"), exc.message
            raise
        finally:
            calls.record(
                calls.CallFact(
                    interface="erp:bench",
                    direction="out",
                    operation=message.operation,
                    duration_ms=round((time.monotonic() - started) * 1000),
                    outcome=outcome,
                    at=at,
                    status_code=status,
                    error=error,
                    idempotency_key=message.idempotency_key,
                    payload_digest=calls.digest(message.payload),
                )
            )

    for name in operations:
        register_operation(Operation(name, name, deliver))


# --- the worker loop -------------------------------------------------------------------------


class Phases:
    """Seconds spent in each part of ``outbox_deliver_due``, by wrapping the module's
    functions (the loop calls them through their module's globals)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: Counter[str] = Counter()

    def wrap(self, module: Any, name: str, phase: str) -> None:
        inner = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds[phase] = self.seconds.get(phase, 0.0) + elapsed
                self.calls[phase] += 1

        setattr(module, name, timed)


def tune(outbox: Any, threads: int = 0) -> None:
    """``--tuned``: the changes proposed for ``erp_bridge/outbox.py``, tried here by
    replacing its ``_settle``: the delivered messages of a batch are settled by one
    ``executemany`` of the row's ``UPDATE`` (pipelined by psycopg 3: one round trip) instead
    of one ``save()`` each (the failed ones, and
    operations with a ``delivered`` hook, go the original way)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from erp_bridge.models import OutboxMessage, OutboxState

    original = outbox._settle
    table = OutboxMessage._meta.db_table

    def settle(outcomes: Sequence[Any], worker: str) -> None:
        plain = [o for o in outcomes if o.error is None]
        hooked = {
            m.pk
            for m in OutboxMessage.objects.filter(pk__in=[o.message_id for o in plain]).only(
                "operation"
            )
            if getattr(outbox.operations.get(m.operation), "delivered", None) is not None
        }
        plain = [o for o in plain if o.message_id not in hooked]
        rest = [o for o in outcomes if o not in plain]
        if plain:
            # the same UPDATE as the per-row save, sent for the whole batch by one
            # executemany (psycopg 3 pipelines it: one round trip)
            now = timezone.now()
            params = [
                [OutboxState.DELIVERED, now, json.dumps(dict(o.result or {})), o.message_id,
                 worker, OutboxState.PENDING]
                for o in plain
            ]  # fmt: skip
            with transaction.atomic(durable=True), connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET state = %s, attempts = attempts + 1, "  # noqa: S608
                    "leased_until = NULL, leased_by = '', delivered_at = %s, "
                    "result = %s::jsonb, last_error = '', error_code = '' "
                    "WHERE id = %s AND leased_by = %s AND state = %s",
                    params,
                )
        if rest:
            original(rest, worker)

    outbox._settle = settle
    if threads > 1:
        deliver_concurrently(outbox, threads)


def deliver_concurrently(outbox: Any, threads: int) -> None:
    """``--tuned-threads N``: a batch's calls made by N threads at once. A claimed batch holds
    at most one message per aggregate, so its calls are independent and the order per
    aggregate is kept; the calls are recorded into the batch's ``collecting()`` (each thread
    runs in a copy of the loop's context)."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    from erp_bridge.models import OutboxMessage

    pool = ThreadPoolExecutor(threads)

    def outbox_deliver_due(*, limit: int = 100, worker: str = "", rounds: int = 50) -> int:
        worker = worker or outbox.worker_name()
        handled = 0
        for _round in range(rounds):
            ids = outbox.outbox_claim(limit=limit, worker=worker)
            if not ids:
                break
            messages = list(OutboxMessage.objects.filter(pk__in=ids).order_by("id"))
            with outbox.collecting():
                context = contextvars.copy_context()
                outcomes = list(
                    pool.map(lambda m, c=context: c.copy().run(outbox._deliver, m), messages)
                )
            outbox._settle(outcomes, worker)
            handled += len(outcomes)
        return handled

    outbox.outbox_deliver_due = outbox_deliver_due


def run_worker(args: argparse.Namespace) -> None:
    """Loop ``outbox_deliver_due`` until nothing is pending (``--until-empty``) or SIGTERM;
    write the figures as JSON to ``--out``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import close_old_connections

    from erp_bridge import calls, outbox
    from erp_bridge.models import OutboxMessage, OutboxState

    register(args.url, args.operations.split(","), trust_env=args.trust_env)
    if args.tuned:
        tune(outbox, args.tuned_threads)
    phases = Phases()
    if args.phases:
        phases.wrap(outbox, "outbox_claim", "claim")
        phases.wrap(outbox, "_settle", "settle")
        phases.wrap(outbox, "_deliver", "deliver")
        phases.wrap(calls, "calls_record", "call_log")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    profile = cProfile.Profile() if args.profile else None
    handled, rounds, began, cpu = 0, 0, time.perf_counter(), time.process_time()
    if profile is not None:
        profile.enable()
    while not stopping.is_set():
        try:
            close_old_connections()
            done = outbox.outbox_deliver_due(limit=args.limit)
        except Exception as exc:  # the database restarting: try again, as Celery would
            print(f"worker: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            from django.db import connections

            connections.close_all()
            stopping.wait(1)
            continue
        handled += done
        rounds += 1
        if done:
            continue
        if (
            args.until_empty
            and not OutboxMessage.objects.filter(state=OutboxState.PENDING).exists()
        ):
            break
        stopping.wait(args.idle)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "handled": handled,
                    "wall": wall,
                    "cpu": cpu,
                    "phases": dict(phases.seconds),
                    "phase_calls": dict(phases.calls),
                }
            )
        )


# --- the benchmark ---------------------------------------------------------------------------


def server_url(dsn: str, name: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{name}").geturl()


def fill(n: int, aggregates: int) -> float:
    """``n`` sales orders through ``outbox_put``, round robin over the customers."""
    from django.db import transaction

    from erp_bridge import outbox

    outbox.WAKE.deliver = lambda: None  # the workers poll; no broker here
    began = time.perf_counter()
    seq: Counter[str] = Counter()
    for start in range(0, n, 500):
        with transaction.atomic():
            for i in range(start, min(n, start + 500)):
                customer = f"customer:C{i % aggregates:04d}"
                number = seq[customer]
                seq[customer] += 1
                outbox.outbox_put(
                    operation=OPERATION,
                    aggregate=customer,
                    payload={
                        "aggregate": customer,
                        "seq": number,
                        "reference": f"SO-{i:06d}",
                        "customer": customer.split(":")[1],
                        "lines": [
                            {
                                "product": f"P{(i * 7 + k) % 500:04d}",
                                "quantity": k + 1,
                                "unit_price": "129.00",
                            }
                            for k in range(3)
                        ],
                    },
                    idempotency_key=f"bench-{i:08d}-{secrets.token_hex(8)}",
                    created_by="bench",
                )
    return time.perf_counter() - began


def get_json(url: str) -> dict[str, Any]:
    import requests

    return dict(requests.get(url, timeout=10).json())


def print_profile(path: str) -> None:
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    print(out.getvalue())


def claim_plan(limit: int) -> None:
    """``EXPLAIN ANALYZE`` of the claim's SELECT on the full outbox (its leases undone)."""
    from django.db import connection

    from erp_bridge.models import OutboxMessage
    from erp_bridge.outbox import outbox_claim

    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        outbox_claim(limit=limit, worker="plan")
    OutboxMessage.objects.filter(leased_by="plan").update(leased_until=None, leased_by="")
    for sql, params in statements:
        if "FOR UPDATE" in sql:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plan = [row[0] for row in cursor.fetchall()]
            print("the claim's SELECT:\n  " + " ".join(sql.split()))
            print("\n".join(f"    {line}" for line in plan))


def print_worker(number: int, figures: dict[str, Any]) -> None:
    """One worker's time: wall and CPU, and the wall time of each phase."""
    handled = max(1, figures["handled"])
    wall, cpu, phases = figures["wall"], figures.get("cpu", 0.0), figures["phases"]
    claims = max(1, figures["phase_calls"].get("claim", 1))
    claim, deliver = phases.get("claim", 0.0), phases.get("deliver", 0.0)
    settle, log = phases.get("settle", 0.0), phases.get("call_log", 0.0)
    rest = wall - claim - settle - deliver - log
    print(
        f"worker {number} (pid {figures['pid']}): {figures['handled']:,} messages in "
        f"{wall:.2f} s, {cpu:.2f} s of CPU ({1000 * cpu / handled:.2f} ms/message)\n"
        f"  claim {claim:.2f} s ({claims} claims, {1000 * claim / claims:.1f} ms each), "
        f"deliver (HTTP) {deliver:.2f} s ({1000 * deliver / handled:.2f} ms/message), "
        f"call log {log:.2f} s, settle {settle:.2f} s ({1000 * settle / claims:.1f} ms per "
        f"batch), the rest (fetching the batch, idle) "
        + (f"{rest:.2f} s" if rest >= 0 else "- (the calls overlap: deliver sums the threads)")
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_receiver"]:
        run_receiver(argv[1])
        return 0
    if argv[:1] == ["_worker"]:
        wp = argparse.ArgumentParser()
        wp.add_argument("--url", required=True)
        wp.add_argument("--operations", default=OPERATION)
        wp.add_argument("--limit", type=int, default=100)
        wp.add_argument("--idle", type=float, default=0.05)
        wp.add_argument("--until-empty", action="store_true")
        wp.add_argument("--phases", action="store_true")
        wp.add_argument("--tuned", action="store_true")
        wp.add_argument("--trust-env", action="store_true")
        wp.add_argument("--tuned-threads", type=int, default=0)
        wp.add_argument("--profile", default="")
        wp.add_argument("--out", default="")
        run_worker(wp.parse_args(argv[1:]))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("-n", type=int, default=20_000, help="messages (20,000)")
    parser.add_argument("--aggregates", type=int, default=200, help="customers (200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=100, help="outbox_deliver_due's batch")
    parser.add_argument("--target", type=float, default=500.0, help="messages/s (500)")
    parser.add_argument("--profile", action="store_true", help="cProfile worker 1's loop")
    parser.add_argument(
        "--tuned", action="store_true", help="try the proposed changes (see tune())"
    )
    parser.add_argument(
        "--tuned-threads", type=int, default=0, help="with --tuned: calls of a batch at once"
    )
    parser.add_argument(
        "--trust-env",
        action="store_true",
        help="requests' default session (the environment read on every request)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--plans", action="store_true", help="EXPLAIN ANALYZE of the claim")
    args = parser.parse_args(argv)

    import psycopg

    database = f"bench_outbox_{os.getpid()}"
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    children: list[subprocess.Popen[bytes]] = []
    failures: list[str] = []
    try:
        configure(server_url(args.dsn, database))
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server_version = cursor.fetchone()[0]
        print(
            f"database {database} (PostgreSQL {server_version}); load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores",
            flush=True,
        )

        port_file = tmp / "port"
        children.append(
            subprocess.Popen(  # noqa: S603 - our own script
                [sys.executable, __file__, "_receiver", str(port_file)], cwd=ROOT
            )
        )
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        register(url)
        seconds = fill(args.n, args.aggregates)
        print(
            f"written {args.n:,} messages over {args.aggregates} aggregates through outbox_put "
            f"in {seconds:.1f} s ({args.n / seconds:,.0f}/s); receiver {url}",
            flush=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE erp_bridge_outboxmessage")
        if args.plans:
            claim_plan(args.limit)
        connection.close()

        began = time.time()
        workers = []
        for w in range(args.workers):
            command = [
                sys.executable, __file__, "_worker", "--url", url, "--until-empty", "--phases",
                "--limit", str(args.limit), "--out", str(tmp / f"worker{w}.json"),
            ]  # fmt: skip
            if args.tuned:
                command += ["--tuned", "--tuned-threads", str(args.tuned_threads)]
            if args.trust_env:
                command.append("--trust-env")
            if args.profile and w == 0:
                command += ["--profile", str(tmp / "worker0.prof")]
            workers.append(
                subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())  # noqa: S603
            )
        children += workers
        codes = [worker.wait() for worker in workers]
        ended = time.time()
        if any(codes):
            failures.append(f"a worker exited with {codes}")
        stats = get_json(url)
        span = max(1e-9, stats["last_at"] - stats["first_at"])
        rate = stats["keys"] / span
        print(
            f"\ndelivered {stats['keys']:,} messages with {args.workers} worker processes in "
            f"{span:.2f} s (first delivery to last): {rate:,.0f} messages/s "
            f"(workers' start to their exit: {ended - began:.2f} s)"
        )
        print(f"requests per worker process at the receiver: {sorted(stats['by_worker'].values())}")
        for w in range(args.workers):
            figures = json.loads((tmp / f"worker{w}.json").read_text())
            print_worker(w + 1, figures)
        if args.profile:
            print_profile(str(tmp / "worker0.prof"))

        from django.db.models import Count, Sum

        from erp_bridge.models import InterfaceCall, OutboxMessage

        states = dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")).order_by())
        attempts = OutboxMessage.objects.aggregate(total=Sum("attempts"))["total"] or 0
        logged = InterfaceCall.objects.filter(interface="erp:bench").count()
        print(
            f"receiver: {stats['calls']:,} requests, {stats['keys']:,} distinct keys, "
            f"{stats['redeliveries']:,} redeliveries absorbed ({stats['repeated_keys']} keys "
            f"repeated), {stats['duplicate_documents']} duplicate documents, "
            f"{stats['violations']} order violations {stats['violation_examples']}"
        )
        print(f"database: {states}, attempts {attempts:,}, call log rows {logged:,}")
        checks = [
            ("every message received exactly once as an effect (by key)",
             stats["keys"] == args.n and stats["documents"] == args.n
             and stats["duplicate_documents"] == 0),
            ("order per aggregate never violated", stats["violations"] == 0),
            ("every row delivered", states == {"delivered": args.n}),
            ("one call logged per request", logged == stats["calls"]),
            (f"rate >= {args.target:.0f} messages/s", rate >= args.target),
        ]  # fmt: skip
        for name, ok in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
            if not ok:
                failures.append(name)
        print(
            json.dumps(
                {
                    "bench": "outbox",
                    "messages": args.n,
                    "aggregates": args.aggregates,
                    "workers": args.workers,
                    "limit": args.limit,
                    "messages_per_s": round(rate, 1),
                    "seconds": round(span, 3),
                    "redeliveries_absorbed": stats["redeliveries"],
                    "order_violations": stats["violations"],
                    "ok": not failures,
                }
            )
        )
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        else:
            print(f"kept {database}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
