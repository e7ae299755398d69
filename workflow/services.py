"""The workflow's public write API. Every state change goes through a function here."""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from workflow.applications import ApplicationCall, ApplicationError, applications
from workflow.bpmn.expressions import ExpressionError
from workflow.bpmn.model import (
    BpmnError,
    Definitions,
    Element,
    ElementKind,
    EventTrigger,
    Problem,
    TimerKind,
)
from workflow.bpmn.parser import xml_text
from workflow.bpmn.timers import TimerError, history_time_to_live, next_fire
from workflow.bpmn.validate import application_name, parse_and_validate
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
    Attachment,
    HistoryEvent,
    Incident,
    InstanceState,
    Job,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    Subscription,
    Task,
    TaskState,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AlreadyHandled",
    "BpmnErrorThrown",
    "EngineError",
    "ProcessError",
    "definition_deploy",
    "history_cleanup",
    "incident_retry",
    "instance_start",
    "job_execute",
    "jobs_run_due",
    "message_correlate",
    "signal_throw",
    "task_complete",
]


@dataclass(frozen=True)
class Deployed:
    key: str
    version: int
    created: bool  # False: identical to the latest version, nothing deployed

    def __str__(self) -> str:
        return f"{self.key} v{self.version} {'deployed' if self.created else 'unchanged'}"


def definition_check(xml: bytes | str) -> Definitions:
    """What :func:`definition_deploy` would deploy now, deploying nothing: the file parsed
    and validated against the registered applications and the deployed processes (call
    targets). Raises :class:`BpmnError` with every problem, or when the file has no
    executable process."""
    deployed_keys = set(ProcessDefinition.objects.values_list("key", flat=True).distinct())
    definitions = parse_and_validate(
        xml, applications=applications.keys(), deployed_processes=deployed_keys
    )
    if not definitions.executable_processes:
        raise BpmnError([Problem("", "the file has no executable process")])
    return definitions


def definition_deploy(
    *, xml: bytes | str, deployed_by: User | None = None, source_name: str = ""
) -> list[Deployed]:
    """Deploy every executable process of a BPMN file, all or nothing.

    The file is parsed and validated first (registered applications, call targets in the
    file or already deployed); any problem raises :class:`BpmnError` with all of them and
    deploys nothing. A process whose latest version has the same XML is left unchanged;
    otherwise it gets the next version number.
    """
    processes = definition_check(xml).executable_processes
    data = xml.encode() if isinstance(xml, str) else xml
    text = xml if isinstance(xml, str) else xml_text(data)
    checksum = hashlib.sha256(data).hexdigest()
    results: list[Deployed] = []
    try:
        with transaction.atomic():
            for process in processes:
                latest = (
                    ProcessDefinition.objects.select_for_update()
                    .filter(key=process.id)
                    .order_by("-version")
                    .first()
                )
                if latest is not None and latest.checksum == checksum:
                    results.append(Deployed(process.id, latest.version, created=False))
                    continue
                version = (latest.version if latest else 0) + 1
                created = ProcessDefinition.objects.create(
                    key=process.id,
                    version=version,
                    name=process.name,
                    description=process.documentation,
                    xml=text,
                    checksum=checksum,
                    source_name=source_name[:255],
                    history_time_to_live=process.history_time_to_live or "",
                    deployed_by=deployed_by,
                )
                _arm_start_timers(created, process, latest)
                results.append(Deployed(process.id, version, created=True))
    except IntegrityError:
        # Another deployment of the same key took this version number between our read and
        # our insert (on SQLite there is no row to lock for a first version).
        raise BpmnError(
            [Problem("", "the same process is being deployed at this moment; try again")]
        ) from None
    return results


def _arm_start_timers(definition: ProcessDefinition, process: Any, previous: Any) -> None:
    """A new version takes over the timer start events: the previous version's stop."""
    if previous is not None:
        Job.objects.filter(definition=previous, kind=JobKind.START_TIMER).delete()
    for start in process.start_events(None):
        if start.trigger is EventTrigger.TIMER and start.timer is not None:
            _schedule_start_timer(definition.pk, start, _now(), fired=0)


def _schedule_start_timer(
    definition_id: int, start: Element, now: datetime.datetime, *, fired: int
) -> None:
    """The job of a timer start event's next firing (none once a cycle is spent)."""
    timer = start.timer
    if timer is None:
        return
    due = next_fire(timer.kind.value, timer.source, now=now, tz=Run.local_tz(), fired=fired)
    if due is not None:
        Job.objects.create(
            definition_id=definition_id,
            kind=JobKind.START_TIMER,
            element_id=start.id,
            due_at=due,
            payload={"fired": fired},
            created_at=now,
        )


# --- the engine's actions ----------------------------------------------------------------------
#
# Each action is one transaction that locks the root instance row first, runs the interpreter
# until every token waits, writes what changed and records it in the history; what must happen
# after the commit (waking job workers, delivering thrown signals and messages) is registered
# with ``transaction.on_commit``.


def _now() -> datetime.datetime:
    return timezone.now()


def _username(user: User | str | None) -> str:
    if user is None:
        return ""
    return user if isinstance(user, str) else user.get_username()


def _latest_definition(key: str) -> tuple[int, Graph]:
    found = store.latest_definition(key)
    if found is None:
        raise EngineError(_("No process %(key)s is deployed.") % {"key": key})
    return found, graph_for_definition(found)


def _call_application(element: Element, run: Run, token: Token) -> Mapping[str, Any] | None:
    """Run a service task's application inline (``inline`` applications only)."""
    name = application_name(element)
    app = applications.get(name or "")
    if app is None:
        raise ProcessError(
            element.id, _("the application %(name)s is not registered") % {"name": name}
        )
    try:
        call = ApplicationCall(
            parameters=app.bind(_parameters(element)),
            variables=MappingProxyType(run.scope(token)),
            instance_id=run.instance.id,
            idempotency_key=f"{run.instance.id}:{token.number}:{element.id}:"
            f"{run.instance.revision}",
        )
        return app.handler(call)
    except ApplicationError as error:
        raise ProcessError(element.id, str(error)) from error


def _parameters(element: Element) -> dict[str, Any]:
    """An application's parameters from the task: ``camunda:field`` / input parameters are
    not read yet, so only the element's extension attributes named ``param.<name>``."""
    prefix = "camunda:param."
    return {k[len(prefix) :]: v for k, v in element.extensions.items() if k.startswith(prefix)}


def _after_commit(effects: Effects) -> None:
    if effects.tasks_created:
        transaction.on_commit(partial(_announce_tasks, list(effects.tasks_created)))
    if effects.wake_jobs:
        transaction.on_commit(_wake_workers)
    for name, variables in effects.signals:
        transaction.on_commit(partial(signal_throw, name, variables=variables))
    for name, variables, business_key in effects.messages:
        transaction.on_commit(partial(_deliver_thrown_message, name, variables, business_key))


def _announce_tasks(pairs: list[tuple[int, int]]) -> None:
    """Tell the handlers of new tasks, by Celery (inline in the embedded mode)."""
    from workflow.tasks import announce_tasks

    try:
        announce_tasks.delay([list(pair) for pair in pairs])
    except Exception:
        logger.warning("could not queue the new-task notifications for %s", pairs)


def _wake_workers() -> None:
    from workflow.tasks import run_jobs

    try:
        run_jobs.delay()
    except Exception:
        logger.warning("could not wake the job workers; the periodic sweep will run the jobs")


def _deliver_thrown_message(name: str, variables: dict[str, Any], business_key: str) -> None:
    try:
        message_correlate(name, business_key=business_key or None, variables=variables)
    except EngineError:
        logger.info("thrown message %s found no receiver", name)


def _run_kwargs(effects: Effects, actor: str) -> dict[str, Any]:
    return {
        "effects": effects,
        "actor": actor,
        "call_application": _call_application,
        "load_graph": _latest_definition,
    }


def instance_start(
    key: str,
    *,
    variables: Mapping[str, Any] | None = None,
    initiator: User | str | None = None,
    business_key: str = "",
    title: str = "",
) -> int:
    """Start the latest version of process ``key``; the new instance's id. The instance runs
    to its first wait states in this transaction."""
    definition_id, graph = _latest_definition(key)
    effects = Effects()
    with transaction.atomic():
        run = start_instance(
            definition_id,
            graph,
            variables=dict(variables or {}),
            initiator=_username(initiator),
            business_key=business_key,
            title=title,
            now=_now(),
            **_run_kwargs(effects, _username(initiator)),
        )
        _after_commit(effects)
    return run.instance.id


def task_complete(
    task_id: int,
    *,
    actor: User | str,
    data: Mapping[str, Any] | None = None,
    outcome: str = "completed",
    comment: str = "",
    on_behalf_of: str = "",
) -> None:
    """Complete an open user task: its data become process variables and the token moves on.
    A task that is no longer open raises :class:`AlreadyHandled` and changes nothing."""
    name = _username(actor)
    values = dict(data or {})
    effects = Effects()
    with transaction.atomic():
        task, instance_row, token_rows = store.lock_and_load_task(task_id)
        if task is None or instance_row is None:
            raise EngineError(_("The task does not exist."))
        _id, _instance, number, element_id, _name, state, _assignee, created = task
        if state != TaskState.OPEN:
            raise AlreadyHandled(_("This task has already been handled."))
        now = _now()
        run = Run(
            Run.instance_from_row(instance_row),
            Run.tokens_from_rows(token_rows),
            graph_for_definition(instance_row[1]),
            now=now,
            **_run_kwargs(effects, name),
        )
        if run.instance.state == InstanceState.SUSPENDED:
            raise EngineError(_("The process is suspended; the task cannot be completed now."))
        token = run.tokens.get(number)
        element = run.graph.elements[element_id]
        store.complete_task(
            run.batch,
            task_id,
            completed_at=run.db_now,
            completed_by=name,
            outcome=outcome[:32],
            data=store.dumps(values),
        )
        run.record(
            "task-completed",
            element,
            started=store.py_time(created),
            task_id=task_id,
            actor=name,
            outcome=outcome,
            on_behalf_of=on_behalf_of,
            data={"comment": comment} if comment else None,
        )
        run.set_variables(values)
        if token is not None:
            run.leave(token, element)
            run.drain()
        run.flush()
        _after_commit(effects)


def message_correlate(
    name: str,
    *,
    business_key: str | None = None,
    instance_id: int | None = None,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """Deliver message ``name`` to one waiting token (narrowed by business key or instance),
    or else start the process whose start event waits for it; the instance's id. Raises
    :class:`EngineError` when nobody waits for the message."""
    values = dict(variables or {})
    # a suspended instance takes no message (as it takes no task completion)
    filters = Subscription.objects.filter(
        kind="message", name=name, instance__state=InstanceState.ACTIVE
    )
    if instance_id is not None:
        filters = filters.filter(instance_id=instance_id)
    if business_key is not None:
        filters = filters.filter(instance__business_key=business_key)
    for _attempt in range(3):
        candidate = filters.order_by("id").values_list("id", "instance_id").first()
        if candidate is None:
            break
        effects = Effects()
        with transaction.atomic():
            store.lock_root_of_instance(candidate[1])
            found = store.one(
                f"SELECT execution, element_id FROM {store.S} WHERE id = %s", (candidate[0],)
            )
            if found is None:
                continue  # taken by a concurrent delivery: look again
            run = load_run(candidate[1], _now(), **_run_kwargs(effects, ""))
            if run.instance.state != InstanceState.ACTIVE:
                continue  # suspended or ended since the look-up: look again
            _fire(run, found[0], found[1], values)
            run.flush()
            _after_commit(effects)
        return candidate[1]
    if instance_id is None:
        for definition_id, graph, start in _event_starts(EventTrigger.MESSAGE, name):
            effects = Effects()
            with transaction.atomic():
                run = start_instance(
                    definition_id,
                    graph,
                    variables=values,
                    initiator="",
                    business_key=business_key or "",
                    now=_now(),
                    start_event=start,
                    **_run_kwargs(effects, ""),
                )
                _after_commit(effects)
            return run.instance.id
    raise EngineError(_("No process is waiting for the message %(name)s.") % {"name": name})


def _event_starts(trigger: EventTrigger, name: str) -> list[tuple[int, Graph, Element]]:
    """The latest version of each process with a start event for message or signal ``name``,
    with that start event."""
    latest = {}
    for pk, key in ProcessDefinition.objects.order_by("key", "version").values_list("pk", "key"):
        latest[key] = pk
    found = []
    for pk in latest.values():
        graph = graph_for_definition(pk)
        for start in graph.process.start_events(None):
            event_name = (
                start.message_name if trigger is EventTrigger.MESSAGE else start.signal_name
            )
            if start.trigger is trigger and event_name == name:
                found.append((pk, graph, start))
                break
    return found


def signal_throw(name: str, *, variables: Mapping[str, Any] | None = None) -> int:
    """Deliver signal ``name`` to every token waiting for it and start every process whose
    start event waits for it, each instance in its own transaction; how many received it."""
    delivered = 0
    pairs = list(
        Subscription.objects.filter(kind="signal", name=name, instance__state=InstanceState.ACTIVE)
        .order_by("instance_id", "id")
        .values_list("id", "instance_id")
    )
    for subscription_id, instance_id in pairs:
        effects = Effects()
        with transaction.atomic():
            store.lock_root_of_instance(instance_id)
            found = store.one(
                f"SELECT execution, element_id FROM {store.S} WHERE id = %s", (subscription_id,)
            )
            if found is None:
                continue
            run = load_run(instance_id, _now(), **_run_kwargs(effects, ""))
            if run.instance.state != InstanceState.ACTIVE:
                continue
            _fire(run, found[0], found[1], dict(variables or {}))
            run.flush()
            _after_commit(effects)
            delivered += 1
    for definition_id, graph, start in _event_starts(EventTrigger.SIGNAL, name):
        effects = Effects()
        with transaction.atomic():
            start_instance(
                definition_id,
                graph,
                variables=dict(variables or {}),
                initiator="",
                business_key="",
                now=_now(),
                start_event=start,
                **_run_kwargs(effects, ""),
            )
            _after_commit(effects)
        delivered += 1
    return delivered


def _fire(run: Run, number: int, element_id: str, variables: dict[str, Any]) -> None:
    event = run.graph.elements[element_id]
    # number 0: an event sub-process start armed at the process level
    token = Token(0, None, element_id, "scope", {}, run.now) if number == 0 else run.tokens[number]
    run.fire(token, event, variables)


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
    now = _now()
    db_now = store.db_time(now)
    until = store.db_time(now + _lease())
    with transaction.atomic():
        ids = [
            r[0]
            for r in store.rows(
                f"SELECT j.id FROM {store.J} j WHERE j.due_at <= %s AND j.retries > 0 "
                f"AND (j.locked_until IS NULL OR j.locked_until < %s) "
                # a suspended instance's jobs wait until it is resumed
                f"AND NOT EXISTS (SELECT 1 FROM {store.I} i WHERE i.id = j.instance_id "
                f"AND i.state = 'suspended') "
                f"AND NOT EXISTS (SELECT 1 FROM {store.J} o WHERE o.root_instance_id = "
                f"j.root_instance_id AND o.id <> j.id AND o.locked_until >= %s) "
                f"ORDER BY j.due_at, j.id LIMIT %s{store.skip_locked()}",
                (db_now, db_now, db_now, limit),
            )
        ]
        if ids:
            store.run(
                f"UPDATE {store.J} SET locked_by = %s, locked_until = %s, attempts = attempts + 1 "
                f"WHERE id IN ({', '.join(['%s'] * len(ids))})",
                (worker, until, *ids),
            )
    return ids


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
    job = (
        Job.objects.filter(pk=job_id, locked_by=worker)
        .values(
            "instance_id", "kind", "element_id", "execution", "payload", "definition_id", "attempts"
        )
        .first()
    )
    if job is None:
        return False
    result: Mapping[str, Any] | None = None
    thrown: BpmnErrorThrown | None = None
    try:
        if job["kind"] == JobKind.SERVICE:
            result, thrown = _call_for_job(job_id, job)
        effects = Effects()
        with transaction.atomic():
            if job["instance_id"] is not None:
                store.lock_root_of_instance(job["instance_id"])
            if not store.run(
                f"DELETE FROM {store.J} WHERE id = %s AND locked_by = %s", (job_id, worker)
            ):
                return False
            _run_job(job_id, job, result, thrown, effects)
            _after_commit(effects)
        return True
    except (EngineError, ApplicationError, ExpressionError) as error:
        _job_failed(job_id, job, worker, error)
        return True


def _call_for_job(job_id: int, job: Mapping[str, Any]) -> tuple[Any, Any]:
    # read only, outside the transaction: the variables the task's token sees (its own
    # locals too, e.g. a multi-instance item), as an inline application would
    run = load_run(job["instance_id"], _now(), Effects(), "", None, None)
    element = run.graph.elements[job["element_id"]]
    name = application_name(element)
    app = applications.get(name or "")
    if app is None:
        raise ApplicationError(f"{name}: not registered", permanent=True)
    call = ApplicationCall(
        parameters=app.bind(_parameters(element)),
        variables=MappingProxyType(run.scope(run.tokens.get(job["execution"]))),
        instance_id=job["instance_id"],
        idempotency_key=f"job:{job_id}",
    )
    try:
        return app.handler(call), None
    except BpmnErrorThrown as thrown:
        return None, thrown


def _run_job(job_id, job, result, thrown, effects: Effects) -> None:
    now = _now()
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
            **_run_kwargs(effects, ""),
        )
        _rearm_start_timer(job, graph, start, now)
        return
    run = load_run(job["instance_id"], now, **_run_kwargs(effects, ""))
    if run.instance.state != InstanceState.ACTIVE:
        raise EngineError(_("The process is not running."))
    number = job["execution"]
    element = run.graph.elements[job["element_id"]]
    if kind in (JobKind.REMINDER, JobKind.TIMEOUT):
        from workflow.approvals import due_job, end_notices

        due_job(run, number, element, kind, job["payload"])
        run.flush()
        end_notices(run)
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
    run.flush()


def _rearm_cycle(run: Run, token: Token, event: Element, job: dict[str, Any]) -> None:
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


def _rearm_start_timer(job, graph: Graph, start: Element, now: datetime.datetime) -> None:
    if start.timer is not None and start.timer.kind is TimerKind.CYCLE:
        fired = int(job["payload"].get("fired", 0)) + 1
        _schedule_start_timer(job["definition_id"], start, now, fired=fired)


def _job_failed(job_id: int, job: Mapping[str, Any], worker: str, error: Exception) -> None:
    permanent = getattr(error, "permanent", False) or isinstance(error, ProcessError)
    now = _now()
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


def incident_retry(incident_id: int, *, by: User | str | None = None) -> None:
    """Give the failed job of an incident fresh retries, due now, and resolve the incident;
    the instance's history says who retried it."""
    now = _now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None or incident.resolved_at is not None:
            raise AlreadyHandled(_("This incident has already been resolved."))
        Job.objects.filter(pk=incident.job_id or 0).update(
            retries=JOB_RETRIES, due_at=now, locked_by="", locked_until=None, attempts=0
        )
        incident.resolved_at = now
        incident.resolved_by = _username(by)
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
        transaction.on_commit(_wake_workers)


def _delete_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        if name:
            storage.delete(name)


def history_cleanup(*, now: datetime.datetime | None = None, batch: int = 1000) -> int:
    """Delete ended instances (with their tasks and history) whose definition's history
    time-to-live has passed since they ended; how many instances went."""
    now = now or _now()
    removed = 0
    ttl_by_definition = dict(
        ProcessDefinition.objects.exclude(history_time_to_live="").values_list(
            "pk", "history_time_to_live"
        )
    )
    for definition_id, ttl in ttl_by_definition.items():
        try:
            keep = history_time_to_live(ttl)
        except TimerError:
            continue
        cutoff = now - (keep.add_to(now) - now)
        while True:
            ids = list(
                ProcessInstance.objects.filter(
                    definition_id=definition_id,
                    state__in=[InstanceState.COMPLETED, InstanceState.TERMINATED],
                    ended_at__lt=cutoff,
                    root__isnull=True,
                ).values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            with transaction.atomic():
                family = set(ids)
                frontier = set(ids)
                while frontier:
                    frontier = (
                        set(
                            ProcessInstance.objects.filter(parent_id__in=frontier).values_list(
                                "pk", flat=True
                            )
                        )
                        - family
                    )
                    family |= frontier
                # the attachments' files go with their rows, once the deletion is committed
                files = list(
                    Attachment.objects.filter(instance_id__in=family).values_list("file", flat=True)
                )
                transaction.on_commit(functools.partial(_delete_files, files))
                HistoryEvent.objects.filter(instance_id__in=family).delete()
                Incident.objects.filter(instance_id__in=family).delete()
                Task.objects.filter(instance_id__in=family).delete()
                ProcessInstance.objects.filter(pk__in=family, parent__isnull=False).update(
                    parent=None
                )
                ProcessInstance.objects.filter(pk__in=family).delete()
            removed += len(ids)
    return removed
