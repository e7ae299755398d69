"""Simulating a process before it is deployed (``manage.py simulate_process``).

The file's processes are deployed, one instance is started and driven (user tasks completed
with given data, service and async jobs run, messages delivered, timers fired) inside one
transaction that is always rolled back: nothing the simulation did stays in the database,
whatever happened.

Invoked applications do not reach outside the database during a simulation: an application
the file names but the portal does not register, and every registered application that is not
``inline`` (those are the ones with side effects outside the database: HTTP calls, e-mail, an
ERP), is replaced by a no-op for the duration of the run. Inline applications run for real;
their work is rolled back with the rest. The registry is process-wide, so a simulation is for
a management command, never for a web request served next to others.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from workflow.applications import Application, ApplicationCall, ApplicationError, applications
from workflow.bpmn.model import BpmnError, Definitions, ElementKind, Problem
from workflow.bpmn.parser import parse_bpmn
from workflow.bpmn.validate import application_name
from workflow.engine import cache
from workflow.engine.graph import Graph
from workflow.engine.runtime import EngineError, ProcessError
from workflow.models import (
    Execution,
    HistoryEvent,
    InstanceState,
    Job,
    JobKind,
    ProcessDefinition,
    ProcessInstance,
    Subscription,
    Task,
    TaskState,
)
from workflow.services import definitions as deploys
from workflow.services import engine, jobs

DEFAULT_MAX_STEPS = 1000
WORKER = "simulation"  # the lock owner of the jobs the simulation runs itself
ACTOR = "simulation"  # completes a user task that has no assignee
TimerMode = Literal["lazy", "eager"]

_INVOKING = (ElementKind.SERVICE_TASK, ElementKind.SEND_TASK)


@dataclass(frozen=True)
class Message:
    """A message to deliver to the simulated instance, with the variables it carries."""

    name: str
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class SimulationResult:
    """What a simulation found. ``state``: completed, terminated, waiting or error."""

    process_key: str
    notes: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    end_events: list[str] = field(default_factory=list)
    state: str = "waiting"
    waiting_at: list[str] = field(default_factory=list)
    error: Problem | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    user_tasks: list[str] = field(default_factory=list)
    timers_fired: int = 0
    messages_not_delivered: list[str] = field(default_factory=list)
    signals_not_delivered: list[str] = field(default_factory=list)
    steps: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "process": self.process_key,
            "notes": self.notes,
            "path": self.path,
            "end_events": self.end_events,
            "state": self.state,
            "waiting_at": self.waiting_at,
            "error": (
                None
                if self.error is None
                else {"element_id": self.error.element_id, "message": self.error.message}
            ),
            "variables": self.variables,
            "user_tasks": self.user_tasks,
            "timers_fired": self.timers_fired,
            "messages_not_delivered": self.messages_not_delivered,
            "signals_not_delivered": self.signals_not_delivered,
            "steps": self.steps,
        }


def simulate(
    data: bytes,
    *,
    source_name: str = "",
    process_key: str | None = None,
    variables: Mapping[str, Any] | None = None,
    task_data: Mapping[str, Any] | None = None,
    timers: TimerMode = "lazy",
    messages: Sequence[Message] = (),
    signals: Sequence[str] = (),
    max_steps: int = DEFAULT_MAX_STEPS,
    initiator: str = "",
) -> SimulationResult:
    """Run process ``process_key`` of a BPMN file (default: its first executable process)
    until it ends, waits for something the simulation cannot give, fails, or has taken
    ``max_steps`` actions; then roll everything back.

    ``task_data`` completes every user task, or, when each key is a user task id of the file
    (or of a deployed process it calls) and each value an object, the task of that id.
    Timers: ``lazy`` fires one only when nothing else can move; ``eager`` as soon as it is
    armed. When nothing else can move, the first of the remaining ``messages`` (in their
    order) that a token of the instance waits for is delivered, before a lazy timer fires;
    those nobody waited for are reported. ``signals`` (names) likewise: when nothing else
    can move and no message is delivered, the first remaining signal a token of the instance
    waits for is thrown (to every receiver, as ``signal_throw`` does), before a lazy timer
    fires; those nobody waited for are reported. Raises ``InvalidBpmn`` when the file cannot be
    deployed (all its problems) or has no such process.
    """
    try:
        definitions = parse_bpmn(data)
        key = _process_key(definitions, process_key)
    except BpmnError as error:
        raise deploys.InvalidBpmn(error.problems) from error
    result = SimulationResult(process_key=key)
    try:
        with _stand_in_applications(definitions) as notes, _rolled_back():
            result.notes = notes
            deploys.definition_deploy(xml=data, source_name=source_name)
            task_ids = _user_task_ids(definitions)
            by_task = bool(task_data) and all(
                name in task_ids and isinstance(value, Mapping)
                for name, value in (task_data or {}).items()
            )
            _Driver(
                result,
                variables=dict(variables or {}),
                task_data=dict(task_data or {}),
                by_task=by_task,
                timers=timers,
                messages=list(messages),
                signals=list(signals),
                max_steps=max_steps,
                initiator=initiator,
            ).run()
    finally:
        # The rolled-back definitions' ids come back with other XML (SQLite reuses them).
        cache.clear()
    return result


# --- the simulation's surroundings -------------------------------------------------------------


def _process_key(definitions: Definitions, wanted: str | None) -> str:
    executable = [p.id for p in definitions.executable_processes]
    if not executable:
        raise BpmnError([Problem("", "the file has no executable process")])
    if wanted is None:
        return executable[0]
    if wanted not in executable:
        raise BpmnError(
            [
                Problem(
                    "",
                    f'the file has no executable process "{wanted}" '
                    f"(it has: {', '.join(executable)})",
                )
            ]
        )
    return wanted


def _no_op(call: ApplicationCall) -> None:
    return None


@contextmanager
def _stand_in_applications(definitions: Definitions) -> Iterator[list[str]]:
    """Replace what would act outside the database by no-ops for the run; the notes say which
    of the applications the file names were replaced."""
    named = sorted(
        {
            name
            for process in definitions.executable_processes
            for element in process.elements.values()
            if element.kind in _INVOKING and (name := application_name(element))
        }
    )
    notes: list[str] = []
    stand_ins: dict[str, Application] = {}
    for app in list(applications):
        if not app.inline:
            stand_ins[app.name] = replace(app, handler=_no_op)
            if app.name in named:
                notes.append(f"{app.name} acts outside the database: a no-op stands in for it")
    for name in named:
        if name not in applications:
            stand_ins[name] = Application(name, name, _no_op, extra_parameters=True)
            notes.append(f"{name} is not registered: a no-op stands in for it")
    # for this thread only: a job running beside the simulation still calls the real thing
    with applications.standing_in(stand_ins):
        yield notes


@contextmanager
def _rolled_back() -> Iterator[None]:
    """One transaction that never commits."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


def _user_task_ids(definitions: Definitions) -> set[str]:
    """The user task ids of the file's processes and of the deployed processes they call."""
    ids: set[str] = set()
    called: set[str] = set()
    for process in definitions.processes.values():
        for element in process.elements.values():
            if element.kind is ElementKind.USER_TASK:
                ids.add(element.id)
            elif element.kind is ElementKind.CALL_ACTIVITY and element.called_element:
                called.add(element.called_element)
    for key in called - set(definitions.processes):
        found = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
        if found is not None:
            graph: Graph = cache.graph_for_definition(found.pk)
            ids |= {e.id for e in graph.elements.values() if e.kind is ElementKind.USER_TASK}
    return ids


# --- driving one instance ----------------------------------------------------------------------


class _Stop(Exception):
    """The simulation cannot go on: ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _message_of(text: str, element_id: str) -> str:
    """An engine message without the element id it starts with (the id is shown apart)."""
    return text.removeprefix(f"{element_id}: ")


class _Driver:
    def __init__(
        self,
        result: SimulationResult,
        *,
        variables: dict[str, Any],
        task_data: dict[str, Any],
        by_task: bool,
        timers: TimerMode,
        messages: list[Message],
        signals: list[str],
        max_steps: int,
        initiator: str,
    ) -> None:
        self.result = result
        self.variables = variables
        self.task_data = task_data
        self.by_task = by_task
        self.timers = timers
        self.messages = messages
        self.signals = signals
        self.max_steps = max_steps
        initial = variables.get("initiator")
        self.initiator = initiator or (initial if isinstance(initial, str) else "")
        self.root: int | None = None
        self.seen_callbacks = len(connection.run_on_commit)

    # the loop

    def run(self) -> None:
        result = self.result
        try:
            self.root = engine.instance_start(
                result.process_key, variables=self.variables, initiator=self.initiator
            )
            self.deliver_thrown()
            while not self.ended():
                action = self.next_action()
                if action is None:
                    break
                element_id, act = action
                if result.steps >= self.max_steps:
                    raise _Stop(
                        Problem(
                            element_id,
                            "the process did not reach a wait state / end within "
                            f"{self.max_steps} steps",
                        )
                    )
                result.steps += 1
                act()
                self.deliver_thrown()
        except ProcessError as error:
            result.error = Problem(error.element_id, _message_of(str(error), error.element_id))
        except (EngineError, ApplicationError) as error:
            # ApplicationError: an inline application's parameters that do not bind escape
            # the engine without the element's id (see engine._call_application)
            result.error = Problem("", str(error))
        except _Stop as stop:
            result.error = stop.problem
        self.report()

    def next_action(self) -> tuple[str, Callable[[], None]] | None:
        """The next thing to do, by priority, with the element it concerns."""
        if self.timers == "eager" and (timer := self.next_timer()) is not None:
            return timer.element_id, partial(self.fire_timer, timer)
        # a task's reminders and time-outs are not simulated
        job = (
            self.tree_jobs()
            .exclude(kind__in=[JobKind.TIMER, JobKind.REMINDER, JobKind.TIMEOUT])
            .order_by("id")
            .first()
        )
        if job is not None:
            return job.element_id, partial(self.run_job, job)
        task = (
            Task.objects.filter(self.in_tree("instance"), state=TaskState.OPEN)
            .order_by("id")
            .first()
        )
        if task is not None:
            return task.element_id, partial(self.complete, task)
        for index, message in enumerate(self.messages):
            waiting = (
                Subscription.objects.filter(
                    self.in_tree("instance"), kind="message", name=message.name
                )
                .order_by("id")
                .first()
            )
            if waiting is not None:
                return waiting.element_id, partial(self.deliver, index, waiting.instance_id)
        for index, name in enumerate(self.signals):
            waiting = (
                Subscription.objects.filter(self.in_tree("instance"), kind="signal", name=name)
                .order_by("id")
                .first()
            )
            if waiting is not None:
                return waiting.element_id, partial(self.send_signal, index)
        timer = self.next_timer()
        if timer is not None:
            return timer.element_id, partial(self.fire_timer, timer)
        return None

    def ended(self) -> bool:
        return (
            self.root is not None
            and ProcessInstance.objects.filter(pk=self.root)
            .exclude(state__in=[InstanceState.ACTIVE, InstanceState.SUSPENDED])
            .exists()
        )

    # the instance tree (the instance and the instances its call activities started)

    def in_tree(self, relation: str) -> Q:
        return Q(**{f"{relation}_id": self.root}) | Q(**{f"{relation}__root_id": self.root})

    def tree_ids(self) -> list[int]:
        if self.root is None:
            return []
        return list(
            ProcessInstance.objects.filter(Q(pk=self.root) | Q(root_id=self.root)).values_list(
                "pk", flat=True
            )
        )

    def tree_jobs(self) -> QuerySet[Job]:
        return Job.objects.filter(root_instance_id=self.root, instance__isnull=False)

    def next_timer(self) -> Job | None:
        return self.tree_jobs().filter(kind=JobKind.TIMER).order_by("due_at", "id").first()

    # the actions

    def complete(self, task: Task) -> None:
        data = self.task_data.get(task.element_id, {}) if self.by_task else self.task_data
        engine.task_complete(task.pk, actor=task.assignee or ACTOR, data=data)
        self.result.user_tasks.append(task.element_id)

    def fire_timer(self, job: Job) -> None:
        self.run_job(job)
        self.result.timers_fired += 1

    def run_job(self, job: Job) -> None:
        """Claim the job as ``jobs_claim`` would, due now, and run it. Only the simulated
        instance's jobs: ``jobs_run_due`` would also run the database's other due jobs."""
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(
            due_at=now,
            locked_by=WORKER,
            locked_until=now + datetime.timedelta(minutes=5),
            attempts=F("attempts") + 1,
        )
        jobs.job_execute(job.pk, worker=WORKER)
        failed = Job.objects.filter(pk=job.pk).exclude(last_error="").first()
        if failed is not None:
            raise _Stop(Problem(job.element_id, _message_of(failed.last_error, job.element_id)))

    def deliver(self, index: int, instance_id: int) -> None:
        message = self.messages.pop(index)
        engine.message_correlate(
            message.name, instance_id=instance_id, variables=dict(message.variables)
        )

    def send_signal(self, index: int) -> None:
        engine.signal_throw(self.signals.pop(index))

    def deliver_thrown(self) -> None:
        """Signals and messages the process throws leave after the commit, which never comes
        here: deliver them now, as the commit would have (and nothing else that waits for it,
        such as waking the job workers)."""
        thrown: Collection[object] = (
            engine.signal_throw,
            engine._deliver_thrown_message,  # private, but it is what the commit would run
        )
        callbacks = connection.run_on_commit
        while self.seen_callbacks < len(callbacks):
            callback = callbacks[self.seen_callbacks][1]  # (savepoint ids, callback, robust)
            self.seen_callbacks += 1
            if isinstance(callback, partial) and callback.func in thrown:
                if self.result.steps >= self.max_steps:
                    raise _Stop(
                        Problem(
                            "",
                            "the process did not reach a wait state / end within "
                            f"{self.max_steps} steps",
                        )
                    )
                self.result.steps += 1
                callback()

    # the report

    def report(self) -> None:
        result = self.result
        tree = self.tree_ids()
        for element_id, kind in (
            HistoryEvent.objects.filter(instance_id__in=tree, kind="activity")
            .order_by("id")
            .values_list("element_id", "element_kind")
        ):
            result.path.append(element_id)
            if kind == ElementKind.END_EVENT.value:
                result.end_events.append(element_id)
        root = ProcessInstance.objects.filter(pk=self.root).first() if self.root else None
        if root is not None:
            result.variables = dict(root.variables)
        if result.error is not None:
            result.state = "error"
        elif root is not None and root.state in (InstanceState.COMPLETED, InstanceState.TERMINATED):
            result.state = str(root.state)
        else:
            result.state = "waiting"
            result.waiting_at = self.waiting_at(tree)
        result.messages_not_delivered += [m.name for m in self.messages]
        result.signals_not_delivered += self.signals

    @staticmethod
    def waiting_at(tree: list[int]) -> list[str]:
        """Each waiting token: its element and what it waits for."""
        waits: dict[tuple[int, int], list[str]] = {}
        for instance_id, number, kind, name in (
            Subscription.objects.filter(instance_id__in=tree)
            .order_by("id")
            .values_list("instance_id", "execution", "kind", "name")
        ):
            waits.setdefault((instance_id, number), []).append(f'{kind} "{name}"')
        found = []
        for instance_id, number, element_id, state in (
            Execution.objects.filter(instance_id__in=tree)
            .exclude(state="scope")
            .order_by("instance_id", "number")
            .values_list("instance_id", "number", "element_id", "state")
        ):
            what = waits.get((instance_id, number)) or ([state] if state != "waiting" else [])
            found.append(f"{element_id} ({', '.join(what)})" if what else element_id)
        return found
