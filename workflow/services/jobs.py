"""The job runner: claim due jobs (``SELECT ... FOR UPDATE SKIP LOCKED`` with a lease), run
each in its own transaction (timers, asynchronous steps, service calls, reminders and
time-outs), retry a failing one with a growing delay and turn an exhausted one into an
incident that an administrator retries.
"""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow.applications import ApplicationCall, ApplicationError, applications
from workflow.bpmn.expressions import ExpressionError
from workflow.bpmn.model import (
    Element,
    ElementKind,
    TimerKind,
)
from workflow.bpmn.validate import application_name
from workflow.engine import store
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.engine.runtime import (
    JOB_RETRIES,
    AlreadyHandled,
    BpmnErrorThrown,
    Effects,
    EngineError,
    ProcessError,
    Run,
    Token,
    load_run,
    start_instance,
)
from workflow.models import (
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    JobKind,
    ProcessInstance,
)
from workflow.services.deadlines import due_job
from workflow.services.definitions import schedule_start_timer
from workflow.services.engine import (
    after_commit,
    application_parameters,
    current_time,
    run_kwargs,
    username_of,
    wake_workers,
)
from workflow.services.steps import flush

# --- jobs ------------------------------------------------------------------------------------


def worker_id() -> str:
    """This process's name as the holder of a job's lease: host and process id, worked out
    when asked, so that each process of a forking worker pool holds its jobs under its own."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "WORKFLOW_JOB_LEASE_SECONDS", 300))


def jobs_claim(limit: int = 10, *, worker: str = "") -> list[int]:
    """Claim up to ``limit`` due jobs for ``worker`` (default: this process, ``worker_id``)
    with a lease; their ids. A job is not claimed while another job of its instance tree is
    running (leased)."""
    worker = worker or worker_id()
    now = current_time()
    db_now = store.db_time(now)
    until = store.db_time(now + _lease())
    # one statement, its own transaction: the due jobs picked (skipping those another
    # worker is picking now) and leased as they are read, one round trip
    claimed = store.rows(
        f"UPDATE {store.J} SET locked_by = %s, locked_until = %s, attempts = attempts + 1 "
        f"WHERE id IN (SELECT j.id FROM {store.J} j WHERE j.due_at <= %s AND j.retries > 0 "
        f"AND (j.locked_until IS NULL OR j.locked_until < %s) "
        # a suspended instance's jobs wait until it is resumed
        f"AND NOT EXISTS (SELECT 1 FROM {store.I} i WHERE i.id = j.instance_id "
        f"AND i.state = 'suspended') "
        f"AND NOT EXISTS (SELECT 1 FROM {store.J} o WHERE o.root_instance_id = "
        f"j.root_instance_id AND o.id <> j.id AND o.locked_until >= %s) "
        f"ORDER BY j.due_at, j.id LIMIT %s{store.skip_locked()}) RETURNING id, due_at",
        (worker, until, db_now, db_now, db_now, limit),
    )
    return [pk for pk, _due in sorted(claimed, key=lambda row: (store.py_time(row[1]), row[0]))]


def jobs_run_due(limit: int = 100, *, worker: str = "") -> int:
    """Claim and run due jobs until none is left (or ``limit`` ran); how many ran."""
    worker = worker or worker_id()
    done = 0
    while done < limit:
        ids = jobs_claim(min(10, limit - done), worker=worker)
        if not ids:
            break
        for job_id in ids:
            job_execute(job_id, worker=worker)
            done += 1
    return done


def job_execute(job_id: int, *, worker: str = "") -> bool:
    """Run one claimed job; False if it is no longer ours (its lease ran out and another
    worker took it, or it was cancelled). A failure is retried later with a growing delay;
    when the retries are spent the job gets an incident."""
    worker = worker or worker_id()
    job = store.claimed_job(job_id, worker)
    if job is None:
        return False
    result: Mapping[str, Any] | None = None
    thrown: BpmnErrorThrown | None = None
    try:
        if job["kind"] == JobKind.SERVICE:
            result, thrown = _call_for_job(job_id, job)
        effects = Effects()
        batch = store.Batch()
        with transaction.atomic():
            # the instance tree locked, the job taken off the queue and the instance read in
            # one round trip (a timer's whole action is then two more: writes, commit)
            taken, loaded = store.lock_and_take_job(job_id, worker, job["instance_id"])
            if not taken:
                return False
            _run_job(job_id, job, result, thrown, effects, loaded, batch)
            after_commit(effects, batch)
        return True
    except (EngineError, ApplicationError, ExpressionError) as error:
        _job_failed(job_id, job, worker, error)
        return True


def _call_for_job(job_id: int, job: Mapping[str, Any]) -> tuple[Any, Any]:
    # read only, outside the transaction: the variables the task's token sees (its own
    # locals too, e.g. a multi-instance item), as an inline application would
    run = load_run(job["instance_id"], current_time(), Effects(), "", None, None)
    element = run.graph.elements[job["element_id"]]
    name = application_name(element)
    app = applications.get(name or "")
    if app is None:
        raise ApplicationError(f"{name}: not registered", permanent=True)
    call = ApplicationCall(
        parameters=app.bind(application_parameters(element)),
        variables=MappingProxyType(run.scope(run.tokens.get(job["execution"]))),
        instance_id=job["instance_id"],
        idempotency_key=f"job:{job_id}",
    )
    try:
        return app.handler(call), None
    except BpmnErrorThrown as thrown:
        return None, thrown


def _run_job(
    job_id: int,
    job: Mapping[str, Any],
    result: Mapping[str, Any] | None,
    thrown: BpmnErrorThrown | None,
    effects: Effects,
    loaded: tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]] | None,
    batch: store.Batch,
) -> None:
    """Run the job's step; the run's writes are left in ``batch`` where the step allows
    (the caller sends them with the action's last statements)."""
    now = current_time()
    kind = job["kind"]
    if kind == JobKind.START_TIMER:
        graph = graph_for_definition(job["definition_id"])
        start = graph.elements[job["element_id"]]
        start_instance(
            job["definition_id"],
            graph,
            variables={},
            initiator="",
            business_key="",
            now=now,
            start_event=start,
            **run_kwargs(effects, ""),
        )
        _rearm_start_timer(job, graph, start, now)
        return
    run = load_run(job["instance_id"], now, **run_kwargs(effects, ""), rows=loaded)
    if run.instance.state != InstanceState.ACTIVE:
        raise EngineError(_("The process is not running."))
    number = job["execution"]
    element = run.graph.elements[job["element_id"]]
    if kind in (JobKind.REMINDER, JobKind.TIMEOUT):
        decided = due_job(run, number, element, kind, job["payload"])
        flush(decided or run)
        return
    if kind == JobKind.TIMER:
        token = run.tokens.get(number) if number else Token(0, None, element.id, "scope", {}, now)
        if token is None:
            return
        _rearm_cycle(run, token, element, job)
        run.fire(token, element)
    else:
        token = run.tokens.get(number)
        if token is None:
            return
        if kind == JobKind.ASYNC:
            if job["payload"].get("after"):
                token.state = "async-after"
                chosen = job["payload"].get("flows")
                flows = None
                if chosen is not None:
                    flows = tuple(f for f in run.graph.outgoing[element.id] if f.id in chosen)
                run.leave(token, element, flows)
            else:
                run.execute(token, resumed=True)
            run.drain()
        else:
            if thrown is not None:
                run.catch_activity_error(token, element, thrown.code)
            else:
                run.invoke(token, element, result or {})
            run.drain()
    run.flush(batch)


def _rearm_cycle(run: Run, token: Token, event: Element, job: Mapping[str, Any]) -> None:
    """A repeating timer on a non-interrupting event fires again."""
    timer = event.timer
    if timer is None or timer.kind is not TimerKind.CYCLE:
        return
    if event.kind is ElementKind.BOUNDARY_EVENT and event.cancel_activity:
        return
    if event.kind is ElementKind.START_EVENT and event.is_interrupting:
        return
    fired = int(job["payload"].get("fired", 0)) + 1
    due = run.timer_due(token, event, fired=fired)
    if due is not None:
        run.add_job(token, "timer", event.id, due, {"fired": fired})


def _rearm_start_timer(
    job: Mapping[str, Any], graph: Graph, start: Element, now: datetime.datetime
) -> None:
    if start.timer is not None and start.timer.kind is TimerKind.CYCLE:
        fired = int(job["payload"].get("fired", 0)) + 1
        schedule_start_timer(job["definition_id"], start, now, fired=fired)


def _job_failed(job_id: int, job: Mapping[str, Any], worker: str, error: Exception) -> None:
    permanent = getattr(error, "permanent", False) or isinstance(error, ProcessError)
    now = current_time()
    with transaction.atomic():
        row = Job.objects.select_for_update().filter(pk=job_id, locked_by=worker).first()
        if row is None:
            return
        row.retries = 0 if permanent else max(row.retries - 1, 0)
        row.last_error = str(error)[:4000]
        row.locked_by = ""
        row.locked_until = None
        row.due_at = now + datetime.timedelta(seconds=min(10 * 4 ** (row.attempts - 1), 3600))
        row.save(update_fields=["retries", "last_error", "locked_by", "locked_until", "due_at"])
        if row.retries == 0:
            Incident.objects.create(
                instance_id=row.instance_id,
                job_id=row.pk,
                element_id=row.element_id,
                message=row.last_error,
                created_at=now,
            )
            if row.instance_id is not None:
                HistoryEvent.objects.create(
                    instance_id=row.instance_id,
                    definition_key=ProcessInstance.objects.filter(pk=row.instance_id)
                    .values_list("definition_key", flat=True)
                    .first()
                    or "",
                    kind="incident",
                    element_id=row.element_id,
                    at=now,
                    data={"message": row.last_error},
                )


def incident_retry(
    incident_id: int, *, by: User | str | None = None, lease_to: str = ""
) -> int | None:
    """Give the failed job of an incident fresh retries, due now, and resolve the incident;
    the instance's history says who retried it. The job's id (None: it is gone).

    ``lease_to``: the caller runs the job itself at once (one attempt, leased to that
    worker name, no worker woken) to tell a person whether it worked
    (``administration.incident_retry``)."""
    now = current_time()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.resolved_at is not None:
            raise AlreadyHandled(_("This incident has already been resolved."))
        job_id = Job.objects.filter(pk=incident.job_id or 0).values_list("pk", flat=True).first()
        if lease_to:
            Job.objects.filter(pk=job_id or 0).update(
                retries=1,
                due_at=now,
                locked_by=lease_to,
                locked_until=now + _lease(),
                attempts=1,
            )
        else:
            Job.objects.filter(pk=job_id or 0).update(
                retries=JOB_RETRIES, due_at=now, locked_by="", locked_until=None, attempts=0
            )
        incident.resolved_at = now
        incident.resolved_by = username_of(by)
        incident.save(update_fields=["resolved_at", "resolved_by"])
        if incident.instance_id is not None:
            HistoryEvent.objects.create(
                instance_id=incident.instance_id,
                definition_key=ProcessInstance.objects.filter(pk=incident.instance_id)
                .values_list("definition_key", flat=True)
                .first()
                or "",
                kind="incident-retried",
                element_id=incident.element_id,
                actor=incident.resolved_by,
                at=now,
            )
        if not lease_to:
            transaction.on_commit(wake_workers)
    return job_id
