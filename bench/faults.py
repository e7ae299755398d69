#!/usr/bin/env python3
"""Faults: the workflow loses no work when a worker is killed, Redis stops, PostgreSQL
restarts under load or a timer comes due while no worker runs.

    .venv/bin/python bench/faults.py                          # all eight, about 10 minutes
    .venv/bin/python bench/faults.py --scenario worker-kill   # or redis-down, pg-restart, timer
    .venv/bin/python bench/faults.py --scenario redis-down --redis-down-seconds 20
    .venv/bin/python bench/faults.py --keep-logs   # the servers' logs to bench/results/

The machine's own PostgreSQL and Redis are never touched. The script starts, on free ports,
a throwaway PostgreSQL cluster (``initdb`` into a temporary directory, run as the postgres
user, trust authentication on 127.0.0.1) and a throwaway Redis (no persistence), serves the
portal from them with gunicorn and runs Celery workers (``celery -A portal worker``) on them,
all with the production settings (``DEBUG=0``, a random ``SECRET_KEY``, ``HTTPS=0``, a job
lease of 10 s). The document system's bridge (``DMS_BRIDGE_URL``) is an HTTP stub in a thread of
this script: it takes 0.5-1 s per call, records every call and applies the effect of each
``Idempotency-Key`` once, as a real receiver would, counting repeated calls. Everything is
stopped and removed at the end, also on Ctrl-C.

Scenarios (one set of servers for all of them, in this order):

* ``worker-kill``: 40 instances of a process whose service task calls the bridge; a worker
  with two processes runs them and is killed (SIGKILL, its whole process group) while calls
  are in flight; a new worker with beat takes over. Checks: every instance completed, one
  effect per instance and it is the result the instance stored, every call cut off by the
  kill was repeated with its key (absorbed by the receiver), no job or incident left.
  Figures: calls, repeated calls, recovery time after the kill.
* ``redis-down``: gunicorn and a worker with beat; one start per 0.5 s through the API while
  Redis is stopped (while a job's bridge call is under way) for ``--redis-down-seconds``
  (60). Checks: every start answered 201 (the job row is in the database; only the wake-up
  message is lost); the worker lives through the outage and reconnects, and beat's sweep
  runs every job: every instance completed. Figures: start latency before/during the
  outage, drain time after Redis returns.
* ``pg-restart``: two clients starting instances (API, with an ``Idempotency-Key``), two
  approving the tasks (API) and one reading the inbox page, while PostgreSQL is restarted
  (``pg_ctl restart -m fast``). Checks: a request that meets the outage answers 503 with
  ``Retry-After`` (the API's JSON error body, in the user's language; a plain page on the
  web), never a 500; retried, the action happens once; requests after the restart succeed
  (persistent connections recover); the database is consistent (each task completed once
  with its history event, a completed task's instance moved on, none stuck).
* ``timer``: instances wait on a 5 s intermediate timer while no worker runs; nothing fires
  past the due time; a worker with beat then fires every timer within one beat period
  (10 s, ``CELERY_BEAT_SCHEDULE``) plus 5 s of slack after it is ready.

ERP drills (``--scenario erp`` runs the four; outbox workers are processes of
``bench/outbox.py _worker`` looping ``outbox_deliver_due``, the ERP is its ``LoopbackErp`` in a
thread here, which applies each idempotency key once and checks the order per aggregate):

* ``erp-down``: orders and postings keep coming while the ERP is down for
  ``--erp-down-seconds`` (60); nothing lost, drained in order afterwards.
* ``erp-slow``: the ERP answers after the time-out; retried with the key, no duplicate.
* ``erp-worker-kill``: an outbox worker gets SIGKILL mid-delivery; the other delivers its
  messages once their lease runs out; no duplicate at the ERP.
* ``webhook-refused``: inbound status webhooks replayed, badly signed, stale, unsigned or
  malformed get a 4xx and change nothing.

Every scenario prints its figures and a PASS/FAIL line per check; the exit status is 1 when
any check failed. The figures depend on the machine's load: read them as orders of size.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SCENARIOS = (
    "worker-kill",
    "redis-down",
    "pg-restart",
    "timer",
    "erp-down",
    "erp-slow",
    "erp-worker-kill",
    "webhook-refused",
)
ERP_SCENARIOS = SCENARIOS[4:]
# the ERP drills' outbox workers: retries come back within seconds (the production defaults,
# 5 s doubled up to an hour, would make a 60 s outage a drill of many minutes), a call times
# out after 1 s, and enough tries that a 60 s outage makes no dead letter
DRILL_OUTBOX = {
    "OUTBOX_BASE_DELAY": "1",
    "OUTBOX_MAX_DELAY": "8",
    "OUTBOX_MAX_ATTEMPTS": "50",
    "ERP_TIMEOUT": "1",
}
DRILL_OPERATIONS = ("drill.sales_order", "drill.expense_post")
JOB_LEASE_SECONDS = 10
BEAT_PERIOD_SECONDS = 10.0  # CELERY_BEAT_SCHEDULE["workflow-run-jobs"] in portal/settings.py
PASSWORD = "fault-drill-1234"  # noqa: S105 - the throwaway users' password
STARTER, APPROVER = "fault_starter", "fault_approver"
PRESTARTED_APPROVALS = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# --- verdicts ------------------------------------------------------------------------------


@dataclass
class Report:
    checks: list[tuple[str, str, bool, str]] = field(default_factory=list)

    def check(self, scenario: str, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((scenario, name, ok, detail))
        print(f"  {'PASS' if ok else 'FAIL'}  {name}{f' ({detail})' if detail else ''}", flush=True)

    @property
    def failures(self) -> list[str]:
        return [f"{scenario}: {name}" for scenario, name, ok, _detail in self.checks if not ok]


def say(text: str) -> None:
    print(text, flush=True)


# --- the throwaway servers -----------------------------------------------------------------


class Child:
    """A subprocess in its own session, so that it and everything it forks stop together."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own commands
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: no clean-up, no acknowledgement."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, grace: float = 15.0) -> None:
        if not self.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        # workers' pool processes may outlive a parent that exits first
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class ThrowawayRedis:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.env = env
        self.server: Child | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server = Child(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.workdir / "redis.log",
            self.env,
        )
        if not wait_until(self.answers, 10):
            raise RuntimeError("the throwaway Redis did not start:\n" + self.server.log_tail())

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def delete_queue(self) -> None:
        """Drop the waiting messages of Celery's default queue (this Redis is ours alone)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"DEL celery\r\n")
            conn.recv(64)


class ThrowawayPostgres:
    """A PostgreSQL 15 cluster in a temporary directory; initdb and pg_ctl refuse root, so
    they run as the postgres user."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/portal"

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 - our own commands
            [*prefix, *command], check=True, capture_output=True, text=True, cwd=self.dir
        )

    def _ctl(self, *args: str) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), *args)

    def start(self) -> None:
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir.parent, "postgres")
            shutil.chown(self.dir, "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._ctl("-o", options, "-w", "start")
        createdb = [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port)]
        subprocess.run([*createdb, "-U", "postgres", "portal"], check=True, capture_output=True)  # noqa: S603

    def restart(self) -> None:
        self._ctl("-m", "fast", "-w", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._ctl("-m", "immediate", "-w", "stop")


# --- the other systems' bridge -------------------------------------------------------------


class BridgeStub:
    """The ERP bridge as a real receiver behaves: each call takes a while, and the effect of
    an ``Idempotency-Key`` is applied once; a repeated key answers the first effect."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delay = (0.5, 1.0)
        self.calls = 0
        self.calls_by_key: Counter[str] = Counter()
        self.effects: dict[str, dict[str, Any]] = {}
        self.in_flight: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                key = self.headers.get("Idempotency-Key", "")
                answer = stub.receive(key, body)
                data = json.dumps(answer).encode()
                with contextlib.suppress(OSError):  # the caller may have been killed
                    self.send_response(200 if answer else 400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def receive(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        if not key:
            return {}
        with self.lock:
            self.calls += 1
            self.calls_by_key[key] += 1
            self.in_flight.add(key)
        time.sleep(random.uniform(*self.delay))
        with self.lock:
            self.in_flight.discard(key)
            effect = self.effects.get(key)
            if effect is None:
                effect = {"reservation": f"R{len(self.effects) + 1}", "instance": body["instance"]}
                self.effects[key] = effect
        return effect

    def reset(self, delay: tuple[float, float]) -> None:
        with self.lock:
            self.delay = delay
            self.calls = 0
            self.calls_by_key.clear()
            self.effects.clear()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the portal: settings, database, web server, workers ------------------------------------


def process_xml(key: str, body: str) -> str:
    """A one-path process: start → ``body`` (elements with ids first … last) → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}"
    targetNamespace="http://portal.example/faults">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {body}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


BUDGET_PROCESS = process_xml(
    "fault_budget",
    '<bpmn:serviceTask id="step" name="合同归档" camunda:class="dms.store_contract"/>',
)
ARRIVAL_PROCESS = process_xml(
    "fault_arrival",
    '<bpmn:serviceTask id="step" name="合同归档" camunda:class="dms.store_contract"/>',
)
APPROVAL_PROCESS = process_xml(
    "fault_approval", f'<bpmn:userTask id="step" name="审批" camunda:assignee="{APPROVER}"/>'
)
TIMER_PROCESS = process_xml(
    "fault_timer",
    '<bpmn:intermediateCatchEvent id="step" name="等待">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>PT5S</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
)


class Portal:
    """The portal on the throwaway servers: settings in the environment (for this process
    and every child), the database migrated, the processes deployed, gunicorn and workers."""

    def __init__(self, workdir: Path, pg: ThrowawayPostgres, redis: ThrowawayRedis, bridge: str):
        self.workdir = workdir
        self.web_port = free_port()
        self.web: Child | None = None
        self.workers: list[Child] = []
        var = workdir / "var"
        var.mkdir()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": pg.url,
            "CELERY_BROKER_URL": redis.url,
            "WORKFLOW_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
            "DMS_BRIDGE_URL": bridge,
            "PORTAL_VAR_DIR": str(var),
            "EMAIL_BACKEND": "dummy",
            "SMS_BACKEND": "dummy",
            "API_THROTTLE_USER": "100000/min",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # the inbound webhooks' shared secret (the webhook-refused drill signs with it)
            "ERP_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        }
        os.environ.update(self.env)

    def set_up(self) -> None:
        import django

        sys.path.insert(0, str(ROOT))
        django.setup()
        from django.core.management import call_command

        from portal.models import User
        from workflow.services import definitions

        call_command("migrate", interactive=False, verbosity=0)
        # the starter reads the portal in Chinese, the approver in English (her browser too)
        for name, language in ((STARTER, "zh-hans"), (APPROVER, "en")):
            User.objects.create_user(
                username=name,
                password=PASSWORD,
                email=f"{name}@example.com",
                preferred_language=language,
            )
        for xml in (BUDGET_PROCESS, ARRIVAL_PROCESS, APPROVAL_PROCESS, TIMER_PROCESS):
            definitions.definition_deploy(xml=xml, source_name="faults.py")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def serve(self) -> None:
        if self.web is not None and self.web.alive:
            return
        self.web = Child(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            self.workdir / "gunicorn.log",
            self.env,
        )
        import requests

        def up() -> bool:
            try:
                return requests.get(f"{self.base}/accounts/login/", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        if not wait_until(up, 60, 0.5):
            raise RuntimeError("gunicorn did not start:\n" + self.web.log_tail())

    def start_worker(self, name: str, *, beat: bool) -> Child:
        """``celery -A portal worker`` with two pool processes (and beat); returns when ready."""
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--hostname",
            f"{name}@%h",
        ]
        if beat:
            command += ["--beat", "--schedule", str(self.workdir / f"beat-{name}")]
        worker = Child(command, self.workdir / f"{name}.log", self.env)
        self.workers.append(worker)
        ready = re.compile(rb"\bready\.")
        if not wait_until(lambda: bool(ready.search(worker.log.read_bytes())), 90, 0.2):
            raise RuntimeError(f"worker {name} did not start:\n" + worker.log_tail())
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def stop(self) -> None:
        self.stop_workers()
        if self.web is not None:
            self.web.stop()


def close_connections() -> None:
    """The script's own database connection may be broken (PostgreSQL restarted)."""
    from django.db import connections

    connections.close_all()


def instance_states(key: str) -> Counter[str]:
    from workflow.models import ProcessInstance

    close_connections()
    return Counter(
        ProcessInstance.objects.filter(definition_key=key).values_list("state", flat=True)
    )


def leftovers(key: str) -> tuple[int, int]:
    """(jobs, incidents) of the instances of process ``key``."""
    from workflow.models import Incident, Job

    return (
        Job.objects.filter(instance__definition_key=key).count(),
        Incident.objects.filter(instance__definition_key=key).count(),
    )


# --- an HTTP client as a browser is one ----------------------------------------------------


class Browser:
    """A signed-in session (cookie and CSRF token) of one person, in one language."""

    def __init__(self, base: str, username: str, language: str) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = language
        self.session.get(f"{base}/accounts/login/", timeout=30)
        answer = self.session.post(
            f"{base}/accounts/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{username} could not sign in ({answer.status_code})")

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "X-CSRFToken": self.session.cookies.get("csrftoken", ""),
            **kwargs.pop("headers", {}),
        }
        return self.session.request(
            method, f"{self.base}{path}", headers=headers, timeout=60, **kwargs
        )


# --- 1. a worker killed in the middle of service-task jobs -----------------------------------


def scenario_worker_kill(portal: Portal, bridge: BridgeStub, report: Report, count: int) -> None:
    from workflow.models import ProcessInstance
    from workflow.services import engine

    name = "worker-kill"
    say(f"\n== {name}: {count} service-task jobs, the worker killed mid-call ==")
    bridge.reset((0.5, 1.0))
    ids = [
        engine.instance_start("fault_budget", variables={"amount": 100 + i}, initiator=STARTER)
        for i in range(count)
    ]
    say(f"  started {count} instances (no worker yet; their wake-ups wait in Redis)")
    first = portal.start_worker("kill-me", beat=False)
    wait_until(lambda: bridge.calls >= count // 4 and len(bridge.in_flight) >= 1, 120, 0.05)
    with bridge.lock:
        cut_off = set(bridge.in_flight)
        calls_before = bridge.calls
    first.kill()
    killed_at = time.monotonic()
    say(
        f"  SIGKILL to the worker's process group after {calls_before} calls, "
        f"{len(cut_off)} in flight"
    )
    portal.workers.remove(first)
    portal.start_worker("take-over", beat=True)
    done = wait_until(lambda: instance_states("fault_budget")["completed"] == count, 180, 0.5)
    recovery = time.monotonic() - killed_at
    portal.stop_workers()
    time.sleep(0.5)  # a call still in the stub when the worker stopped

    close_connections()
    stored = dict(
        ProcessInstance.objects.filter(pk__in=ids).values_list(
            "pk", "variables__dms_store_contract"
        )
    )
    with bridge.lock:
        effects = list(bridge.effects.values())
        repeated = {k: n for k, n in bridge.calls_by_key.items() if n > 1}
        calls = bridge.calls
    effects_by_instance = Counter(effect["instance"] for effect in effects)
    jobs, incidents = leftovers("fault_budget")
    say(
        f"  calls {calls}, keys {len(bridge.calls_by_key)}, repeated calls "
        f"{calls - len(bridge.calls_by_key)} (absorbed by the key), "
        f"recovery after the kill {recovery:.1f} s (lease {JOB_LEASE_SECONDS} s, "
        f"beat every {BEAT_PERIOD_SECONDS:.0f} s)"
    )
    report.check(name, "every instance completed", done, f"{instance_states('fault_budget')}")
    report.check(
        name,
        "one effect per instance",
        sorted(effects_by_instance) == sorted(ids) and set(effects_by_instance.values()) == {1},
        f"{len(effects)} effects for {count} instances",
    )
    report.check(
        name,
        "each instance stored its one effect",
        all(stored.get(effect["instance"]) == effect for effect in effects),
    )
    report.check(
        name,
        "every call cut off by the kill was repeated with its key",
        bool(cut_off) and cut_off <= set(repeated),
        f"{len(cut_off)} cut off, {len(repeated)} keys called more than once",
    )
    report.check(
        name,
        "no job or incident left",
        (jobs, incidents) == (0, 0),
        f"{jobs} jobs, {incidents} incidents",
    )


# --- 2. Redis down while instances keep arriving ---------------------------------------------


@dataclass
class Answer:
    at: float
    status: int | str
    seconds: float
    phase: str
    body: Any = None
    retry_after: str | None = None


def scenario_redis_down(
    portal: Portal, bridge: BridgeStub, redis: ThrowawayRedis, report: Report, outage: float
) -> None:
    name = "redis-down"
    say(f"\n== {name}: Redis stopped for {outage:.0f} s, one start every 0.5 s ==")
    bridge.reset((0.5, 1.0))
    portal.serve()
    worker = portal.start_worker("steady", beat=True)
    client = Browser(portal.base, STARTER, "zh-hans")
    answers: list[Answer] = []
    phase = "before"
    stop = threading.Event()

    def arrive() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            began = time.monotonic()
            try:
                reply = client.request(
                    "POST",
                    "/api/v1/instances/",
                    json={"process_key": "fault_arrival", "variables": {"amount": number}},
                )
                status: int | str = reply.status_code
            except Exception as error:
                status = type(error).__name__
            answers.append(Answer(began, status, time.monotonic() - began, phase))
            stop.wait(max(0.0, 0.5 - (time.monotonic() - began)))

    arrivals = threading.Thread(target=arrive)
    arrivals.start()
    try:
        time.sleep(5)
        # the hard case: the worker holds a task (a bridge call under way) when Redis goes
        wait_until(lambda: bool(bridge.in_flight), 10, 0.02)
        redis.stop()
        phase = "outage"
        say(f"  Redis stopped after {len(answers)} starts, with a bridge call under way")
        time.sleep(outage)
        phase = "after"
        redis.start()
        back_at = time.monotonic()
        say(f"  Redis started again after {outage:.0f} s")
        time.sleep(5)
    finally:
        stop.set()
        arrivals.join()
    started = sum(a.status == 201 for a in answers)
    done = wait_until(
        lambda: instance_states("fault_arrival")["completed"] >= started or not worker.alive,
        120,
        0.5,
    )
    drain = time.monotonic() - back_at
    worker_alive = worker.alive
    portal.stop_workers()

    states = instance_states("fault_arrival")
    jobs, incidents = leftovers("fault_arrival")
    during = [a for a in answers if a.phase == "outage"]
    for label, group in (
        ("before", [a for a in answers if a.phase == "before"]),
        ("outage", during),
    ):
        seconds = [a.seconds * 1000 for a in group]
        say(
            f"  start requests {label}: {len(group)}, p50 {percentile(seconds, 0.5):.0f} ms, "
            f"max {max(seconds, default=0):.0f} ms"
        )
    if worker_alive:
        say(f"  drained {started} instances {drain:.1f} s after Redis returned")
    else:
        fatal = [line for line in worker.log_tail(400).splitlines() if "CRITICAL" in line]
        say(f"  the worker exited when Redis went away: {fatal[-1:]}")
    failures = Counter(str(a.status) for a in answers if a.status != 201)
    report.check(
        name,
        "every start answered 201, also during the outage",
        not failures and bool(during),
        f"{len(answers)} starts, {len(during)} during the outage, failures {dict(failures)}",
    )
    report.check(name, "the worker lived through the outage and reconnected", worker_alive)
    report.check(
        name,
        "every instance completed after Redis returned",
        done and states["completed"] == started == sum(states.values()),
        f"{states}",
    )
    report.check(
        name,
        "no job or incident left",
        (jobs, incidents) == (0, 0),
        f"{jobs} jobs, {incidents} incidents",
    )


# --- 3. PostgreSQL restarted under load -------------------------------------------------------


def scenario_pg_restart(portal: Portal, pg: ThrowawayPostgres, report: Report) -> None:

    from workflow.services import engine

    name = "pg-restart"
    say(f"\n== {name}: starts, approvals and inbox pages while PostgreSQL restarts ==")
    for i in range(PRESTARTED_APPROVALS):  # work for the approvers from the first second
        engine.instance_start("fault_approval", variables={"n": i}, initiator=STARTER)
    portal.serve()
    worker = portal.start_worker("steady", beat=True)
    answers: dict[str, list[Answer]] = {"start": [], "approve": [], "list": [], "page": []}
    started: dict[str, int] = {}  # Idempotency-Key -> the instance the start answered
    approved: Counter[int] = Counter()  # task -> answers 200 to its approval
    handled_already: set[int] = set()  # tasks whose approval answered 409
    stop = threading.Event()
    tally = threading.Lock()
    phase = "before"

    def call(kind: str, browser: Browser, method: str, path: str, **kwargs: Any) -> Answer:
        """One request; a 503 is sent again after its Retry-After, as a client should (a
        shorter wait near gunicorn's 2 s keep-alive would race the server closing the idle
        connection: a reset that is the client's doing, not the restart's)."""
        while True:
            sent = time.monotonic()
            try:
                reply = browser.request(method, path, **kwargs)
                status: int | str = reply.status_code
                is_json = reply.headers.get("Content-Type", "").startswith("application/json")
                body: Any = reply.json() if is_json else reply.text
                retry_after = reply.headers.get("Retry-After")
            except Exception as error:
                status, body, retry_after = type(error).__name__, str(error), None
            answer = Answer(sent, status, time.monotonic() - sent, phase, body, retry_after)
            with tally:
                answers[kind].append(answer)
            if status != 503 or stop.is_set():
                return answer
            time.sleep(float(retry_after or 1))

    def starting() -> None:
        starter = Browser(portal.base, STARTER, "zh-hans")
        number = 0
        while not stop.is_set():
            number += 1
            key = str(uuid.uuid4())
            answer = call(
                "start",
                starter,
                "POST",
                "/api/v1/instances/",
                json={"process_key": "fault_approval", "variables": {"n": number}},
                headers={"Idempotency-Key": key},
            )
            if answer.status in (200, 201):
                started[key] = answer.body["id"]
            stop.wait(0.05)

    def approving(share: int) -> None:
        """Approve the listed tasks whose id modulo 2 is ``share`` (no two approvers race)."""
        approver = Browser(portal.base, APPROVER, "en")
        while not stop.is_set():
            page = call("list", approver, "GET", "/api/v1/tasks/?tab=todo&process=fault_approval")
            if page.status != 200:
                stop.wait(0.5)
                continue
            for row in [r for r in page.body["results"] if r["id"] % 2 == share][:5]:
                path = f"/api/v1/tasks/{row['id']}/approve"
                answer = call("approve", approver, "POST", path, json={})
                if answer.status == 200:
                    approved[row["id"]] += 1
                elif answer.status == 409:
                    handled_already.add(row["id"])
            stop.wait(0.05)

    def reading() -> None:
        reader = Browser(portal.base, STARTER, "zh-hans")
        while not stop.is_set():
            call("page", reader, "GET", "/workflow/inbox/")
            stop.wait(0.05)

    clients = [
        threading.Thread(target=starting),
        threading.Thread(target=starting),
        threading.Thread(target=approving, args=(0,)),
        threading.Thread(target=approving, args=(1,)),
        threading.Thread(target=reading),
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(6)
        phase = "outage"
        began = time.monotonic()
        pg.restart()
        restarted = time.monotonic()
        phase = "after"
        say(f"  PostgreSQL restarted (pg_ctl restart -m fast: {restarted - began:.1f} s)")
        time.sleep(8)
    finally:
        stop.set()
        for client in clients:
            client.join()
    time.sleep(1)
    worker_alive = worker.alive
    portal.stop_workers()

    _check_restart_answers(report, answers, began, restarted)
    report.check(name, "the worker survived the restart", worker_alive)
    _check_restart_database(report, started, approved, handled_already)


def _check_restart_answers(
    report: Report, answers: dict[str, list[Answer]], began: float, restarted: float
) -> None:
    """What the clients got: 503s with Retry-After in the right shape and language, and
    nothing else failing, during the restart or after it."""
    name = "pg-restart"
    everything = [a for group in answers.values() for a in group]
    for kind, group in answers.items():
        statuses = dict(Counter(str(a.status) for a in group))
        say(f"  {kind}: {len(group)} requests, answers {statuses}")
    unavailable = [a for a in everything if a.status == 503]
    if unavailable:
        first = min(a.at for a in unavailable) - began
        last = max(a.at + a.seconds for a in unavailable) - began
        say(f"  503 answers from {first:+.1f} s to {last:+.1f} s of the restart")
    failed = [a for a in everything if a.status not in (200, 201, 409, 503)]
    for answer in failed[:5]:
        say(f"  failed at {answer.at - began:+.1f} s: {answer.status} {str(answer.body)[:300]}")
    report.check(
        name,
        "no 500 and no broken connection, only 503 during the restart",
        not failed,
        f"{dict(Counter(str(a.status) for a in failed))}",
    )
    api = [a for kind in ("start", "approve", "list") for a in answers[kind] if a.status == 503]
    report.check(
        name,
        "API 503s: the JSON error body with Retry-After",
        all(
            isinstance(a.body, dict)
            and a.body.get("error", {}).get("code") == "service_unavailable"
            and a.retry_after
            for a in api
        ),
        f"{len(api)} API 503s",
    )
    chinese = [a.body["error"]["message"] for a in answers["start"] if a in api]
    english = [a.body["error"]["message"] for a in answers["approve"] + answers["list"] if a in api]
    report.check(
        name,
        "API 503 messages in the user's language",
        all(re.search(r"[\u4e00-\u9fff]", m) for m in chinese)
        and all(m.isascii() for m in english),
        f"zh-hans: {chinese[:1]}, en: {english[:1]}",
    )
    pages = [a for a in answers["page"] if a.status == 503]
    report.check(
        name,
        "page 503s: a plain error page with Retry-After, no traceback",
        all(
            a.retry_after
            and isinstance(a.body, str)
            and "503" in a.body
            and "Traceback" not in a.body
            for a in pages
        ),
        f"{len(pages)} page 503s",
    )
    report.check(name, "the outage was met by API requests and by pages", bool(api and pages))
    late = [a for a in failed + unavailable if a.at > restarted + 1]
    report.check(
        name,
        "connections recovered: every request a second after the restart succeeded",
        not late,
        f"{len(late)} failed",
    )


def _check_restart_database(
    report: Report, started: dict[str, int], approved: Counter[int], handled_already: set[int]
) -> None:
    """Every action fully applied or not at all, once."""
    from workflow.models import HistoryEvent, ProcessInstance, Task

    name = "pg-restart"
    close_connections()
    instances = dict(
        ProcessInstance.objects.filter(definition_key="fault_approval").values_list("pk", "state")
    )
    tasks = list(
        Task.objects.filter(instance__definition_key="fault_approval").values_list(
            "pk", "instance_id", "state"
        )
    )
    completions = Counter(
        HistoryEvent.objects.filter(
            definition_key="fault_approval", kind="task-completed"
        ).values_list("task_id", flat=True)
    )
    answered = set(started.values())
    report.check(
        name,
        "each start (retried after a 503 with its key) made exactly one instance",
        len(answered) == len(started) and len(instances) == PRESTARTED_APPROVALS + len(answered),
        f"{len(started)} starts answered, {len(instances) - PRESTARTED_APPROVALS} instances made",
    )
    completed = {pk for pk, _instance, state in tasks if state == "completed"}
    report.check(
        name,
        "each approval applied once: one 200, or a 409 when the cut-off attempt had committed",
        set(approved.values()) <= {1}
        and not set(approved) & handled_already
        and set(approved) | handled_already == completed,
        f"{len(approved)} answered 200, {len(handled_already)} 409, {len(completed)} completed",
    )
    tasks_per_instance = Counter(instance for _pk, instance, _state in tasks)
    report.check(
        name,
        "one task per instance; each completed task has exactly one completion in history",
        set(tasks_per_instance.values()) == {1} and completions == Counter(completed),
    )
    report.check(
        name,
        "a completed task's instance has ended, an open task's waits; none stuck",
        all(
            instances[instance] == ("completed" if state == "completed" else "active")
            for _pk, instance, state in tasks
        )
        and len(tasks_per_instance) == len(instances),
        f"{dict(Counter(instances.values()))}",
    )


# --- 4. a timer due while no worker runs ----------------------------------------------------


def scenario_timer(portal: Portal, redis: ThrowawayRedis, report: Report, count: int) -> None:
    from workflow.models import Job, ProcessInstance
    from workflow.services import engine

    name = "timer"
    say(f"\n== {name}: {count} 5-second timers due while no worker runs ==")
    portal.stop_workers()
    redis.delete_queue()  # no stale wake-up may run the timers before beat's sweep does
    ids = [engine.instance_start("fault_timer", initiator=STARTER) for _ in range(count)]
    due = dict(
        Job.objects.filter(instance_id__in=ids, kind="timer").values_list("instance_id", "due_at")
    )
    latest_due = max(due.values())
    from django.utils import timezone

    time.sleep(max(0.0, (latest_due - timezone.now()).total_seconds()) + 5)
    close_connections()
    waiting = ProcessInstance.objects.filter(pk__in=ids, state="active").count()
    overdue = Job.objects.filter(instance_id__in=ids, due_at__lt=timezone.now()).count()
    say(
        f"  5 s past the last due time: {waiting} instances still waiting, "
        f"{overdue} timer jobs overdue"
    )
    report.check(name, "nothing fired while no worker ran", waiting == count and overdue == count)
    portal.start_worker("late", beat=True)
    ready = timezone.now()
    limit = BEAT_PERIOD_SECONDS + 5
    finished = wait_until(
        lambda: instance_states("fault_timer")["completed"] == count, limit + 30, 0.5
    )
    ended = dict(ProcessInstance.objects.filter(pk__in=ids).values_list("pk", "ended_at"))
    portal.stop_workers()
    delays = [(end - ready).total_seconds() for pk in ids if (end := ended[pk]) is not None]
    say(
        f"  fired after the worker was ready: first {min(delays, default=0):.1f} s, "
        f"last {max(delays, default=0):.1f} s "
        f"(limit: beat period {BEAT_PERIOD_SECONDS:.0f} s + 5 s)"
    )
    report.check(
        name,
        "every timer fired and its instance moved on",
        finished,
        f"{instance_states('fault_timer')}",
    )
    report.check(
        name,
        "within one beat period plus slack of the worker being ready",
        len(delays) == count and max(delays) <= limit,
    )
    jobs, incidents = leftovers("fault_timer")
    report.check(
        name,
        "no job or incident left",
        (jobs, incidents) == (0, 0),
        f"{jobs} jobs, {incidents} incidents",
    )


# --- 5-8. the ERP: down, slow, a delivering worker killed; inbound webhooks refused ---------


def _bench_outbox() -> Any:
    """bench/outbox.py as a module: the loopback ERP and the outbox worker loop."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_outbox", ROOT / "bench" / "outbox.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_outbox"] = module
    spec.loader.exec_module(module)
    return module


class ErpDrill:
    """One drill's loopback ERP (in a thread of this script: it keeps what it received across
    an outage, as a real ERP keeps its database), its outbox workers (separate processes:
    ``bench/outbox.py _worker``, each looping ``outbox_deliver_due`` as the Celery task does,
    with ``DRILL_OUTBOX``), and the business changes that write messages."""

    def __init__(self, portal: Portal, name: str) -> None:
        from erp_bridge import outbox

        self.bench = _bench_outbox()
        self.portal = portal
        self.name = name
        self.erp = self.bench.LoopbackErp()
        self.erp.listen()
        if not all(op in outbox.operations for op in DRILL_OPERATIONS):
            self.bench.register(self.erp.url, DRILL_OPERATIONS)  # so that outbox_put knows them
        outbox.WAKE.deliver = lambda: None  # the drill's workers poll; no Celery task
        self.workers: list[Child] = []
        self.seq: Counter[str] = Counter()
        self.written = 0
        self.lock = threading.Lock()

    def start_worker(self, label: str, *, limit: int = 20) -> Child:
        env = {**self.portal.env, **DRILL_OUTBOX}
        worker = Child(
            [
                sys.executable,
                str(ROOT / "bench" / "outbox.py"),
                "_worker",
                "--url",
                self.erp.url,
                "--operations",
                ",".join(DRILL_OPERATIONS),
                "--limit",
                str(limit),
                "--idle",
                "0.2",
            ],
            self.portal.workdir / f"{self.name}-{label}.log",
            env,
        )
        self.workers.append(worker)
        return worker

    def write(self, aggregate: str, *, posting: bool = False) -> None:
        """One business change's message, in its own transaction: a sales order for a
        customer, or an expense posting for an employee."""
        from django.db import transaction

        from erp_bridge.outbox import outbox_put

        with self.lock:
            seq = self.seq[aggregate]
            self.seq[aggregate] += 1
            self.written += 1
        with transaction.atomic():
            outbox_put(
                operation=DRILL_OPERATIONS[1] if posting else DRILL_OPERATIONS[0],
                aggregate=aggregate,
                payload={"aggregate": aggregate, "seq": seq, "amount": str(100 + seq)},
                created_by=self.name,
            )

    def keep_writing(self, stop: threading.Event, per_second: float = 10.0) -> threading.Thread:
        def run() -> None:
            n = 0
            while not stop.is_set():
                posting = n % 3 == 2
                kind = "employee" if posting else "customer"
                self.write(f"{self.name}:{kind}:{n % 10}", posting=posting)
                n += 1
                stop.wait(1 / per_second)
            close_connections()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def messages(self) -> Counter[str]:
        from erp_bridge.models import OutboxMessage

        close_connections()
        return Counter(
            OutboxMessage.objects.filter(aggregate__startswith=f"{self.name}:").values_list(
                "state", flat=True
            )
        )

    def drained(self) -> bool:
        states = self.messages()
        return states["delivered"] == self.written == sum(states.values())

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(5)
        self.workers.clear()
        self.erp.stop_listening()

    def check(self, report: Report, drained: bool) -> dict[str, Any]:
        """The checks every ERP drill makes; returns the receiver's figures."""
        from django.db.models import Max

        from erp_bridge.models import OutboxMessage

        stats = self.erp.stats()
        states = self.messages()
        most = OutboxMessage.objects.filter(aggregate__startswith=f"{self.name}:").aggregate(
            m=Max("attempts")
        )["m"]
        say(
            f"  {self.written} messages written; the ERP got {stats['calls']} calls for "
            f"{stats['keys']} keys: {stats['redeliveries']} redeliveries absorbed by the key "
            f"({stats['repeated_keys']} keys repeated); most tries of one message {most}; "
            f"database {dict(states)}"
        )
        report.check(
            self.name,
            "nothing lost: every message delivered",
            drained and states["delivered"] == self.written == stats["keys"],
            f"{states['delivered']} delivered of {self.written}, {states['dead']} dead",
        )
        report.check(
            self.name,
            "no duplicate at the ERP (one document per message)",
            stats["documents"] == self.written and stats["duplicate_documents"] == 0,
            f"{stats['documents']} documents, {stats['duplicate_documents']} duplicated",
        )
        report.check(
            self.name,
            "in order per aggregate",
            stats["violations"] == 0,
            f"{stats['violations']} violations {stats['violation_examples']}",
        )
        return dict(stats)


def scenario_erp_down(portal: Portal, report: Report, outage: float) -> None:
    name = "erp-down"
    say(f"\n== {name}: the ERP down for {outage:.0f} s while orders and postings keep coming ==")
    portal.stop_workers()  # no Celery beat sweep may take the drill's messages
    drill = ErpDrill(portal, name)
    try:
        for label in ("a", "b"):
            drill.start_worker(label)
        stop = threading.Event()
        writer = drill.keep_writing(stop)
        time.sleep(10)
        before = drill.written
        drill.erp.stop_listening()
        down_at = time.monotonic()
        say(f"  the ERP stopped after {before} messages (connections refused, open ones cut)")
        time.sleep(outage)
        during = drill.written - before
        pending = drill.messages()["pending"]
        drill.erp.listen()
        back = time.monotonic()
        say(
            f"  the ERP back after {back - down_at:.0f} s: {during} messages written meanwhile, "
            f"{pending} waiting"
        )
        report.check(
            name,
            "the changes kept coming while the ERP was down, waiting in the outbox",
            during > 0 and pending >= during,
            f"{during} written, {pending} waiting",
        )
        time.sleep(5)
        stop.set()
        writer.join()
        drained = wait_until(drill.drained, 120, 0.5)
        say(f"  drained {time.monotonic() - back:.1f} s after the ERP came back")
        drill.check(report, drained)
    finally:
        drill.stop()


def scenario_erp_slow(portal: Portal, report: Report) -> None:
    name = "erp-slow"
    slow, timeout = 2.0, float(DRILL_OUTBOX["ERP_TIMEOUT"])
    say(
        f"\n== {name}: the ERP answers after {slow:.0f} s, the call times out after "
        f"{timeout:.0f} s (the ERP did the work; the caller does not know) =="
    )
    portal.stop_workers()
    drill = ErpDrill(portal, name)
    try:
        for label in ("a", "b"):
            drill.start_worker(label)
        stop = threading.Event()
        writer = drill.keep_writing(stop, per_second=5)
        time.sleep(5)
        drill.erp.delay = slow
        time.sleep(30)
        drill.erp.delay = 0.0
        say("  the ERP answers at once again")
        time.sleep(3)
        stop.set()
        writer.join()
        drained = wait_until(drill.drained, 120, 0.5)
        stats = drill.check(report, drained)
        report.check(
            name,
            "the timed-out calls were retried with their key (redeliveries absorbed)",
            stats["redeliveries"] > 0,
            f"{stats['redeliveries']} redeliveries",
        )
    finally:
        drill.stop()


def scenario_erp_worker_kill(portal: Portal, report: Report) -> None:
    from erp_bridge import outbox
    from erp_bridge.models import OutboxMessage

    name = "erp-worker-kill"
    lease = outbox.LEASE.total_seconds()
    say(
        f"\n== {name}: an outbox worker killed (SIGKILL) mid-delivery; its lease "
        f"({lease:.0f} s) runs out and the other worker delivers =="
    )
    portal.stop_workers()
    drill = ErpDrill(portal, name)
    try:
        for n in range(300):
            posting = n % 3 == 2
            kind = "employee" if posting else "customer"
            drill.write(f"{name}:{kind}:{n % 30}", posting=posting)
        drill.erp.delay = 0.05
        victim = drill.start_worker("victim")
        victim_name = f"{socket.gethostname()}:{victim.process.pid}"

        def victim_busy() -> bool:
            with drill.erp.lock:
                return drill.erp.by_worker[victim_name] >= 5 and any(
                    w == victim_name for w in drill.erp.in_flight.values()
                )

        wait_until(victim_busy, 60, 0.01)
        victim.kill()
        killed_at = time.monotonic()
        drill.workers.remove(victim)
        close_connections()
        leased = set(
            OutboxMessage.objects.filter(leased_by=victim_name, state="pending").values_list(
                "idempotency_key", flat=True
            )
        )
        with drill.erp.lock:
            received = {k for k in leased if k in drill.erp.calls_by_key}
        say(
            f"  SIGKILL to the worker after {drill.erp.by_worker[victim_name]} calls: "
            f"{len(leased)} messages leased to it, {len(received)} of them already at the ERP"
        )
        drill.start_worker("survivor")
        took_over = wait_until(
            lambda: (
                not OutboxMessage.objects.filter(
                    idempotency_key__in=leased, state="pending"
                ).exists()
            ),
            lease + 60,
            0.5,
        )
        recovery = time.monotonic() - killed_at
        drained = wait_until(drill.drained, 60, 0.5)
        say(f"  the victim's messages delivered {recovery:.1f} s after the kill")
        stats = drill.check(report, drained)
        with drill.erp.lock:
            repeated = {k for k, n in drill.erp.calls_by_key.items() if n > 1}
        report.check(
            name,
            "the other worker took over the killed worker's messages after the lease",
            took_over and bool(leased) and recovery >= lease - 5,
            f"{len(leased)} messages, {recovery:.1f} s",
        )
        report.check(
            name,
            "the ones it had sent were sent again with their key and absorbed",
            bool(received) and received <= repeated,
            f"{len(received)} sent before the kill, {stats['redeliveries']} redeliveries",
        )
    finally:
        drill.stop()


def scenario_webhook_refused(portal: Portal, report: Report) -> None:
    """Signed status webhooks through gunicorn: a good one applies; the same delivery again,
    a bad signature, a stale timestamp, no signature and a malformed body are refused with a
    4xx and change nothing (the order, the receipts, the outbox)."""
    import requests
    from django.utils import timezone

    from erp_bridge.models import OrderRecord, OutboxMessage, WebhookReceipt
    from erp_bridge.webhooks import signed_headers

    name = "webhook-refused"
    say(f"\n== {name}: status webhooks replayed, badly signed, stale, unsigned, malformed ==")
    portal.serve()
    secret = portal.env["ERP_WEBHOOK_SECRET"].encode()
    url = f"{portal.base}/erp/webhooks/tryton/"
    now = timezone.now()
    reference = f"SO-DRILL-{secrets.token_hex(3)}"
    OrderRecord.objects.create(
        reference=reference, customer_code="C0001", number="SO0001", state="confirmed",
        total="1200.00", created_at=now, updated_at=now,
    )  # fmt: skip

    def snapshot() -> tuple[Any, ...]:
        close_connections()
        order = OrderRecord.objects.filter(reference=reference).values().get()
        return (order, WebhookReceipt.objects.count(), OutboxMessage.objects.count())

    def body(event: str) -> bytes:
        return json.dumps(
            {"event": event, "reference": reference, "occurred_at": timezone.now().isoformat()}
        ).encode()

    def post(raw: bytes, headers: dict[str, str]) -> Any:
        return requests.post(
            url, data=raw, headers={"Content-Type": "application/json", **headers}, timeout=30
        )

    shipped = body("order.shipped")
    first_headers = signed_headers(secret, shipped, str(uuid.uuid4()))
    first = post(shipped, first_headers)
    after_first = snapshot()
    report.check(
        name,
        "a correctly signed delivery is accepted and applied",
        first.status_code == 200 and after_first[0]["shipped"] is True,
        f"{first.status_code} {first.text[:120]}",
    )
    paid = body("invoice.paid")
    stale_ts = str(int(time.time()) - 3600)
    from erp_bridge.webhooks import sign

    cases = [
        ("the same delivery replayed", shipped, first_headers, 409),
        (
            "the same delivery id with a new signature (a replay)",
            shipped,
            signed_headers(secret, shipped, first_headers["X-Webhook-Id"]),
            409,
        ),
        (
            "a bad signature",
            paid,
            {**signed_headers(secret, paid, str(uuid.uuid4())), "X-Webhook-Signature": "sha256="
             + sign(secrets.token_bytes(32), str(int(time.time())), paid)},
            401,
        ),
        (
            "a body changed after signing",
            paid,
            signed_headers(secret, paid.replace(b"paid", b"status"), str(uuid.uuid4())),
            401,
        ),
        (
            "a stale timestamp (an hour old, correctly signed)",
            paid,
            {
                "X-Webhook-Timestamp": stale_ts,
                "X-Webhook-Id": str(uuid.uuid4()),
                "X-Webhook-Signature": f"sha256={sign(secret, stale_ts, paid)}",
            },
            401,
        ),
        ("no signature", paid, {}, 401),
        ("a malformed body, correctly signed", b"{not json", None, 400),
    ]  # fmt: skip
    for label, raw, headers, expected in cases:
        before = snapshot()
        answer = post(
            raw, headers if headers is not None else signed_headers(secret, raw, str(uuid.uuid4()))
        )
        after = snapshot()
        report.check(
            name,
            f"{label}: refused with {expected}, nothing changed",
            answer.status_code == expected and after == before,
            f"{answer.status_code} {answer.text[:100]}",
        )
    final = snapshot()
    report.check(
        name,
        "the order is as the one accepted delivery left it (shipped, not paid)",
        final[0]["shipped"] is True and final[0]["paid"] is False and final[1] == 1,
        f"receipts {final[1]}",
    )


# --- main ----------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_servers() -> Iterator[tuple[Path, ThrowawayPostgres, ThrowawayRedis, BridgeStub]]:
    workdir = Path(tempfile.mkdtemp(prefix="portal-faults-"))
    pg = ThrowawayPostgres(workdir)
    redis = ThrowawayRedis(workdir, dict(os.environ))
    bridge = BridgeStub()
    try:
        pg.start()
        redis.start()
        bridge.start()
        say(
            f"throwaway servers: PostgreSQL :{pg.port}, Redis :{redis.port}, "
            f"bridge stub :{bridge.port} ({workdir})"
        )
        yield workdir, pg, redis, bridge
    finally:
        bridge.stop()
        redis.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("all", "erp", *SCENARIOS), default="all")
    parser.add_argument("--redis-down-seconds", type=float, default=60.0)
    parser.add_argument("--erp-down-seconds", type=float, default=60.0)
    parser.add_argument("--instances", type=int, default=40, help="worker-kill instances")
    parser.add_argument(
        "--keep-logs", action="store_true", help="copy the servers' logs to bench/results/"
    )
    args = parser.parse_args()
    chosen = {"all": SCENARIOS, "erp": ERP_SCENARIOS}.get(args.scenario, (args.scenario,))
    # SIGTERM ends the run like Ctrl-C does: through the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    began = time.monotonic()
    with throwaway_servers() as (workdir, pg, redis, bridge):
        portal = Portal(workdir, pg, redis, bridge.url)
        try:
            portal.set_up()
            say(
                "portal migrated and the fault processes deployed "
                f"({time.monotonic() - began:.0f} s)"
            )
            for scenario in chosen:
                if scenario == "worker-kill":
                    scenario_worker_kill(portal, bridge, report, args.instances)
                elif scenario == "redis-down":
                    scenario_redis_down(portal, bridge, redis, report, args.redis_down_seconds)
                elif scenario == "pg-restart":
                    scenario_pg_restart(portal, pg, report)
                elif scenario == "timer":
                    scenario_timer(portal, redis, report, 20)
                elif scenario == "erp-down":
                    scenario_erp_down(portal, report, args.erp_down_seconds)
                elif scenario == "erp-slow":
                    scenario_erp_slow(portal, report)
                elif scenario == "erp-worker-kill":
                    scenario_erp_worker_kill(portal, report)
                else:
                    scenario_webhook_refused(portal, report)
        finally:
            portal.stop()
            close_connections()
            if args.keep_logs:
                target = ROOT / "bench" / "results" / f"faults-{time.strftime('%Y%m%d-%H%M%S')}"
                target.mkdir(parents=True)
                for log in workdir.glob("*.log"):
                    shutil.copy(log, target)
                say(f"logs copied to {target}")
    failures = report.failures
    say(
        f"\n{'FAIL' if failures else 'PASS'}: {len(report.checks) - len(failures)}/"
        f"{len(report.checks)} checks passed in {time.monotonic() - began:.0f} s"
    )
    for failure in failures:
        say(f"  FAIL  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
