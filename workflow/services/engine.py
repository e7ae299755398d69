"""The engine's actions: start an instance, complete a task, correlate a message, throw a
signal.

Each action is one transaction that locks the root instance row first, runs the interpreter
until every token waits, writes what changed and records it in the history; what must happen
after the commit (waking job workers, telling the handlers of new tasks, delivering thrown
signals and messages) is registered with ``transaction.on_commit``. These are the engine's
own calls, for trusted callers (the approval actions, the job runner, the demo, the
benchmarks); a person starts a request through ``workflow.services.starts``.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from workflow.applications import ApplicationCall, ApplicationError, applications
from workflow.bpmn.model import (
    Element,
    EventTrigger,
)
from workflow.bpmn.validate import application_name
from workflow.engine import store
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.engine.runtime import (
    AlreadyHandled,
    Effects,
    EngineError,
    ProcessError,
    Run,
    Token,
    load_run,
    start_instance,
)
from workflow.events import announce_ended
from workflow.models import (
    InstanceState,
    ProcessDefinition,
    Subscription,
    TaskState,
)
from workflow.services.notifications import settle_task_notices, tell_initiators

logger = logging.getLogger(__name__)


# --- the engine's actions ----------------------------------------------------------------------
#
# Each action is one transaction that locks the root instance row first, runs the interpreter
# until every token waits, writes what changed and records it in the history; what must happen
# after the commit (waking job workers, delivering thrown signals and messages) is registered
# with ``transaction.on_commit``.


def current_time() -> datetime.datetime:
    return timezone.now()


def username_of(user: User | str | None) -> str:
    if user is None:
        return ""
    return user if isinstance(user, str) else user.get_username()


def latest_definition(key: str) -> tuple[int, Graph]:
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
            parameters=app.bind(application_parameters(element)),
            variables=MappingProxyType(run.scope(token)),
            instance_id=run.instance.id,
            idempotency_key=f"{run.instance.id}:{token.number}:{element.id}:"
            f"{run.instance.revision}",
        )
        return app.handler(call)
    except ApplicationError as error:
        raise ProcessError(element.id, str(error)) from error


def application_parameters(element: Element) -> dict[str, Any]:
    """An application's parameters from the task: ``camunda:field`` / input parameters are
    not read yet, so only the element's extension attributes named ``param.<name>``."""
    prefix = "camunda:param."
    return {k[len(prefix) :]: v for k, v in element.extensions.items() if k.startswith(prefix)}


def after_commit(effects: Effects, batch: store.Batch | None = None) -> None:
    """The end of every engine and approval action, inside its transaction, once its runs
    are written (or, with ``batch``, once the writes in it are sent): the to-do notices of
    tasks that left a person's hands are settled and the initiators of requests that ended
    are told (here, so that no path that moves a task or ends a request can forget it); the
    rest leaves after the commit."""
    settle_task_notices(effects.written, batch)
    if batch is not None:
        batch.send()  # on PostgreSQL the settle goes in the writes' round trip
    if effects.ended:
        # one read of the ended requests for both: their initiators' notices, the listeners
        requests = store.ended_requests(sorted({pk for pk, _state in effects.ended}))
        tell_initiators(effects.ended, requests)
        # other apps' listeners (workflow/events.py), in this transaction
        announce_ended(effects.ended, {request.id: request.key for request in requests})
    if effects.tasks_created:
        transaction.on_commit(partial(_announce_tasks, list(effects.tasks_created)))
    if effects.wake_jobs:
        transaction.on_commit(wake_workers)
    for name, variables, thrower in effects.signals:
        # the throwing instance received its own signal in its run (as Camunda does)
        transaction.on_commit(partial(signal_throw, name, variables=variables, thrown_by=thrower))
    for name, variables, business_key in effects.messages:
        transaction.on_commit(partial(_deliver_thrown_message, name, variables, business_key))


@dataclass
class JobQueue:
    """How the engine hands work to the job runner after a commit: tell the handlers of new
    tasks, wake the workers for due jobs. ``WorkflowConfig.ready`` connects the Celery tasks
    of ``workflow.tasks`` (thin wrappers that import these services, so the services cannot
    import them back); until then, and if queueing fails, nothing is lost: the jobs wait in
    their table for beat's sweep."""

    announce_tasks: Callable[[list[list[int]]], object] = lambda pairs: None
    wake_workers: Callable[[], object] = lambda: None


QUEUE = JobQueue()


def _announce_tasks(pairs: list[tuple[int, int]]) -> None:
    """Tell the handlers of new tasks, by Celery (inline in the embedded mode)."""
    try:
        QUEUE.announce_tasks([list(pair) for pair in pairs])
    except Exception:
        logger.warning("could not queue the new-task notifications for %s", pairs)


def wake_workers() -> None:
    try:
        QUEUE.wake_workers()
    except Exception:
        logger.warning("could not wake the job workers; the periodic sweep will run the jobs")


def _deliver_thrown_message(name: str, variables: dict[str, Any], business_key: str) -> None:
    try:
        message_correlate(name, business_key=business_key or None, variables=variables)
    except EngineError:
        logger.info("thrown message %s found no receiver", name)


def run_kwargs(effects: Effects, actor: str) -> dict[str, Any]:
    return {
        "effects": effects,
        "actor": actor,
        "call_application": _call_application,
        "load_graph": latest_definition,
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
    definition_id, graph = latest_definition(key)
    effects = Effects()
    with transaction.atomic():
        run = start_instance(
            definition_id,
            graph,
            variables=dict(variables or {}),
            initiator=username_of(initiator),
            business_key=business_key,
            title=title,
            now=current_time(),
            **run_kwargs(effects, username_of(initiator)),
        )
        after_commit(effects)
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
    name = username_of(actor)
    values = dict(data or {})
    effects = Effects()
    with transaction.atomic():
        task, instance_row, token_rows = store.lock_and_load_task(task_id)
        if task is None or instance_row is None:
            raise EngineError(_("The task does not exist."))
        _id, _instance, number, element_id, _name, state, _assignee, created = task
        if state != TaskState.OPEN:
            raise AlreadyHandled(_("This task has already been handled."))
        now = current_time()
        run = Run(
            Run.instance_from_row(instance_row),
            Run.tokens_from_rows(token_rows),
            graph_for_definition(instance_row[1]),
            now=now,
            **run_kwargs(effects, name),
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
        batch = store.Batch()
        run.flush(batch)
        after_commit(effects, batch)


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
            run = load_run(candidate[1], current_time(), **run_kwargs(effects, ""))
            if run.instance.state != InstanceState.ACTIVE:
                continue  # suspended or ended since the look-up: look again
            _fire(run, found[0], found[1], values)
            run.flush()
            after_commit(effects)
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
                    now=current_time(),
                    start_event=start,
                    **run_kwargs(effects, ""),
                )
                after_commit(effects)
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


def signal_throw(
    name: str, *, variables: Mapping[str, Any] | None = None, thrown_by: int | None = None
) -> int:
    """Deliver signal ``name`` to every token waiting for it and start every process whose
    start event waits for it, each instance in its own transaction; how many received it.
    ``thrown_by``: the instance that threw it, which received it in its own run."""
    delivered = 0
    waiting = Subscription.objects.filter(
        kind="signal", name=name, instance__state=InstanceState.ACTIVE
    )
    if thrown_by is not None:
        waiting = waiting.exclude(instance_id=thrown_by)
    pairs = list(waiting.order_by("instance_id", "id").values_list("id", "instance_id"))
    for subscription_id, instance_id in pairs:
        effects = Effects()
        with transaction.atomic():
            store.lock_root_of_instance(instance_id)
            found = store.one(
                f"SELECT execution, element_id FROM {store.S} WHERE id = %s", (subscription_id,)
            )
            if found is None:
                continue
            run = load_run(instance_id, current_time(), **run_kwargs(effects, ""))
            if run.instance.state != InstanceState.ACTIVE:
                continue
            _fire(run, found[0], found[1], dict(variables or {}))
            run.flush()
            after_commit(effects)
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
                now=current_time(),
                start_event=start,
                **run_kwargs(effects, ""),
            )
            after_commit(effects)
        delivered += 1
    return delivered


def _fire(run: Run, number: int, element_id: str, variables: dict[str, Any]) -> None:
    event = run.graph.elements[element_id]
    # number 0: an event sub-process start armed at the process level
    token = Token(0, None, element_id, "scope", {}, run.now) if number == 0 else run.tokens[number]
    run.fire(token, event, variables)
