"""The interpreter: moves an instance's tokens over its graph until every path waits.

A :class:`Run` is one engine action on one instance inside the caller's transaction (the root
instance row is already locked). It loads the instance and its tokens, changes them in memory,
collects every row to write (tokens, tasks, candidates, jobs, subscriptions, history) and
sends them in a few statements at :meth:`Run.flush`. Nothing here commits.

Tokens (``Execution`` rows) carry the element they are at and a state:

* ``active``: moving (only inside a run);
* ``waiting``: at a wait state (a user task, a receive task, a catch event, an event-based
  gateway, a call activity, a service call or async continuation in the job queue);
* ``joining``: arrived at a parallel or inclusive join, waiting for the other branches;
* ``scope``: holds other tokens (an embedded or event sub-process, a multi-instance body).
"""

from __future__ import annotations

import datetime
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from portal.errors import Conflict, Refused, Unprocessable
from portal.search import search_text
from workflow.applications import applications
from workflow.bpmn.expressions import ExpressionError
from workflow.bpmn.model import Element, ElementKind, EventTrigger, VariableMapping
from workflow.bpmn.timers import TimerError, next_fire, parse_date, parse_duration
from workflow.bpmn.validate import application_name, due_date_offset, ratio_share
from workflow.engine import store
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Flow, Graph

MAX_STEPS = 10_000  # a run that moves this often without waiting loops for ever
MI_STATE = "_mi"  # a multi-instance body's private bookkeeping, kept among its variables
JOBS_MARK = "_jobs"  # a waiting token has jobs (a task's reminder/time-out) to remove later
RETURN_MARK = "_return"  # a step returned to: the step that returned it (resubmit policy)
SIGNERS_MARK = "_signers"  # a task of this token has added signers (加签)
PRIVATE = frozenset({MI_STATE, JOBS_MARK, RETURN_MARK, SIGNERS_MARK})

# Called for every task the engine creates (``workflow.participants.assign_task``): resolves
# people and policies, may complete ``fields``; a returned outcome passes the step at once.
TASK_HOOK: Callable[[Run, Token, Element, dict[str, Any]], str | None] | None = None


class EngineError(Refused):
    """An action the engine refuses or cannot do; the message is for the person acting."""

    code = "refused"


class AlreadyHandled(EngineError, Conflict):
    """The task or job was completed (or withdrawn) by someone else first."""

    status = 409
    code = "already_handled"


class ProcessError(EngineError, Unprocessable):
    """The process itself went wrong at run time (no flow to take, an expression that fails,
    an endless loop); the action is rolled back."""

    status = 422
    code = "process_error"

    def __init__(self, element_id: str, message: str) -> None:
        super().__init__(f"{element_id}: {message}")
        self.element_id = element_id


class BpmnErrorThrown(Exception):
    """Raised by an invoked application to throw a BPMN error that boundary events catch."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass(slots=True)
class Token:
    number: int
    parent: int | None
    element_id: str
    state: str
    variables: dict[str, Any]
    entered_at: datetime.datetime
    status: str = "clean"  # new | clean | dirty | gone


@dataclass(slots=True)
class Instance:
    id: int
    definition_id: int
    key: str
    business_key: str
    title: str
    initiator: str
    state: str
    variables: dict[str, Any]
    parent_id: int | None
    parent_execution: int | None
    root_id: int | None
    end_event: str
    started_at: datetime.datetime
    revision: int
    next_number: int
    ended_at: datetime.datetime | None = None

    @property
    def root(self) -> int:
        return self.root_id or self.id


@dataclass
class Effects:
    """What has to happen after the transaction commits (workers to wake, signals and
    messages thrown, called instances that ended)."""

    wake_jobs: bool = False
    # (name, variables, the throwing instance: it received the signal in its own run)
    signals: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    messages: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    ended: list[tuple[int, str]] = field(default_factory=list)  # (instance id, state)
    tasks_created: list[tuple[int, int]] = field(default_factory=list)  # (instance, token)
    written: set[int] = field(default_factory=set)  # instances written (their tasks changed)


Application = Callable[[Element, "Run", Token], Mapping[str, Any] | None]


class Run:
    def __init__(
        self,
        instance: Instance,
        tokens: dict[int, Token],
        graph: Graph,
        *,
        now: datetime.datetime,
        effects: Effects,
        actor: str = "",
        call_application: Application | None = None,
        load_graph: Callable[[str], tuple[int, Graph]] | None = None,
    ) -> None:
        self.instance = instance
        self.tokens = tokens
        self.graph = graph
        self.now = now
        self.db_now = store.db_time(now)
        self.effects = effects
        self.actor = actor
        self.call_application = call_application
        self.load_graph = load_graph
        self.agenda: deque[tuple[Callable[[Token], None], Token]] = deque()
        self.steps = 0
        self.new_instance = False
        self.tasks: list[tuple[Token, Element, dict[str, Any]]] = []
        self.gone_numbers: set[int] = set()  # tokens whose tasks/jobs/subscriptions go
        self.jobs: list[tuple[Any, ...]] = []
        self.subscriptions: list[tuple[Any, ...]] = []
        self.history: list[tuple[Any, ...]] = []
        self.cancelled_tasks_for: set[int] = set()
        self.cleared_jobs: set[int] = set()  # tokens whose timers/jobs are deleted
        self.cleared_subscriptions: set[int] = set()  # ... and whose subscriptions
        self.cleared_starts: set[tuple[int, str]] = set()  # (scope, event sub-process start)
        self.children: list[Run] = []
        self.batch = store.Batch()  # statements to send first (e.g. the task completed)
        self.approver = ""  # who approved the step this action completed (auto-pass rule)
        self.decision: str | None = None  # "approved" / "rejected": the completed task's
        self.reject_policy = "route"  # what a rejected countersign does: route | end | return
        self.throwing: Token | None = None  # the token whose signal is being delivered

    # --- loading --------------------------------------------------------------------------

    @staticmethod
    def instance_from_row(row: tuple[Any, ...]) -> Instance:
        return Instance(
            id=row[0],
            definition_id=row[1],
            key=row[2],
            business_key=row[3],
            title=row[4],
            initiator=row[5],
            state=row[6],
            variables=store.py_json(row[7]),
            parent_id=row[8],
            parent_execution=row[9],
            root_id=row[10],
            end_event=row[11],
            started_at=store.py_time(row[12]),  # type: ignore[arg-type]
            revision=row[13],
            next_number=row[14],
        )

    @staticmethod
    def tokens_from_rows(found: list[tuple[Any, ...]]) -> dict[int, Token]:
        return {
            r[0]: Token(r[0], r[1], r[2], r[3], store.py_json(r[4]), store.py_time(r[5]))  # type: ignore[arg-type]
            for r in found
        }

    # --- variables and expressions --------------------------------------------------------

    def scope(self, token: Token | None, *, initiator: bool = True) -> dict[str, Any]:
        """The variables an expression at ``token`` sees: the instance's, then each enclosing
        scope's locals, the token's own last (the nearest wins); ``initiator`` is there too
        and always the instance's own, whatever a variable of that name holds: participant
        rules (``manager(initiator)``) must not follow a value a caller wrote
        (``initiator=False``: only real variables)."""
        chain: list[dict[str, Any]] = []
        while token is not None:
            chain.append(token.variables)
            token = self.tokens.get(token.parent) if token.parent is not None else None
        merged = dict(self.instance.variables)
        for local in reversed(chain):
            for name, value in local.items():
                if name not in PRIVATE:
                    merged[name] = value
        if initiator and self.instance.initiator:
            merged["initiator"] = self.instance.initiator
        return merged

    def evaluate(self, element_id: str, text: str | None, token: Token | None) -> Any:
        try:
            return self.graph.value(text, self.scope(token))
        except ExpressionError as error:
            raise ProcessError(
                element_id,
                _("the expression %(expression)s failed: %(error)s")
                % {"expression": text, "error": error},
            ) from error

    def set_variables(self, values: Mapping[str, Any]) -> None:
        if values:
            self.instance.variables.update(values)

    # --- tokens ---------------------------------------------------------------------------

    def new_token(
        self,
        parent: int | None,
        element_id: str,
        state: str = "active",
        variables: Mapping[str, Any] | None = None,
    ) -> Token:
        number = self.instance.next_number
        self.instance.next_number += 1
        token = Token(number, parent, element_id, state, dict(variables or {}), self.now, "new")
        self.tokens[number] = token
        return token

    def touch(self, token: Token) -> None:
        if token.status == "clean":
            token.status = "dirty"

    def drop(self, token: Token) -> None:
        """Remove a token (it reached an end, or was merged at a join, or was cancelled).

        A token created in this run is marked gone too, not only forgotten: its next step
        may still be on the agenda (a parallel split schedules every branch before any
        moves), and a gone token's steps are skipped; a branch cancelled by a terminate end
        event of its sibling would otherwise run on and be dropped a second time."""
        if token.status != "new":
            self.gone_numbers.add(token.number)  # its row exists: delete it at flush
        token.status = "gone"
        del self.tokens[token.number]

    def children_of(self, number: int | None) -> list[Token]:
        return [t for t in self.tokens.values() if t.parent == number]

    def parent_token(self, token: Token) -> Token | None:
        return self.tokens.get(token.parent) if token.parent is not None else None

    def scope_element(self, number: int | None) -> str | None:
        """The sub-process element a scope token stands for (None: the process level)."""
        if number is None:
            return None
        return self.tokens[number].element_id

    # --- history --------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        element: Element | None,
        *,
        started: datetime.datetime | None = None,
        task_id: int | None = None,
        actor: str = "",
        outcome: str = "",
        data: Mapping[str, Any] | None = None,
        on_behalf_of: str = "",
    ) -> None:
        duration = None
        if started is not None:
            duration = int((self.now - started).total_seconds() * 1000)
        self.history.append(
            (
                self.instance.id,
                self.instance.key,
                kind,
                element.id if element else "",
                element.kind.value if element else "",
                task_id,
                actor,
                on_behalf_of,
                outcome,
                store.db_time(started),
                self.db_now,
                duration,
                store.dumps(dict(data or {})),
            )
        )

    # --- the agenda -----------------------------------------------------------------------

    def schedule(self, step: Callable[[Token], None], token: Token) -> None:
        self.agenda.append((step, token))

    def drain(self) -> None:
        while True:
            while self.agenda:
                self.steps += 1
                if self.steps > MAX_STEPS:
                    step, token = self.agenda[0]
                    raise ProcessError(
                        token.element_id,
                        _(
                            "the process moved %(steps)s times without reaching a wait state; "
                            "it loops for ever"
                        )
                        % {"steps": MAX_STEPS},
                    )
                step, token = self.agenda.popleft()
                if token.status != "gone":
                    step(token)
            if not self.fire_inclusive_joins():
                break

    # --- entering elements ----------------------------------------------------------------

    def enter(self, token: Token, element_id: str) -> None:
        token.element_id = element_id
        token.entered_at = self.now
        token.state = "active"
        self.touch(token)
        self.schedule(self.execute, token)

    def execute(self, token: Token, *, resumed: bool = False) -> None:
        element = self.graph.elements[token.element_id]
        if element.async_before and not resumed:
            self.wait(token)
            self.add_job(token, "async", element.id, self.now, {"before": True})
            return
        if element.multi_instance is not None and not self.is_inner(token):
            self.start_multi_instance(token, element)
            return
        kind = element.kind
        handler = _HANDLERS.get(kind)
        if handler is None:  # refused at deploy; here only if validation changed
            raise ProcessError(element.id, _("this element cannot be run"))
        handler(self, token, element)

    def wait(self, token: Token, state: str = "waiting") -> None:
        token.state = state
        self.touch(token)

    def is_inner(self, token: Token) -> bool:
        parent = self.parent_token(token)
        return (
            parent is not None
            and parent.element_id == token.element_id
            and parent.state == "scope"
            and MI_STATE in parent.variables
        )

    # events

    def do_start_event(self, token: Token, element: Element) -> None:
        self.leave(token, element)

    def do_end_event(self, token: Token, element: Element) -> None:
        trigger = element.trigger
        self.record("activity", element, started=token.entered_at)
        if trigger is EventTrigger.TERMINATE:
            self.drop(token)  # it ends here; only the other tokens of its scope are cancelled
            self.terminate_scope(token.parent, element)
            return
        if trigger is EventTrigger.ERROR:
            self.drop(token)
            self.throw_error(token.parent, element.error_code, element, token)
            return
        if trigger is EventTrigger.MESSAGE:
            self.throw_message(element, token)
        if trigger is EventTrigger.SIGNAL:
            self.throw_signal(element, token)
            if token.status == "gone":  # an interrupting event of this instance caught it
                return
        parent = token.parent
        self.drop(token)
        self.after_token_ended(parent, element)

    def do_throw_event(self, token: Token, element: Element) -> None:
        if element.trigger is EventTrigger.SIGNAL:
            self.record("activity", element, started=token.entered_at)  # thrown, then caught
            self.throw_signal(element, token)
            if token.status == "gone":  # an interrupting event of this instance caught it
                return
            self.leave(token, element, recorded=True)
            return
        if element.trigger is EventTrigger.MESSAGE:
            self.throw_message(element, token)
        self.leave(token, element)

    def do_catch_event(self, token: Token, element: Element) -> None:
        self.wait(token)
        self.arm_event(token, element, element)

    def do_boundary_event(self, token: Token, element: Element) -> None:
        self.leave(token, element)

    # activities

    def do_pass(self, token: Token, element: Element) -> None:
        self.leave(token, element)

    def do_user_task(self, token: Token, element: Element) -> None:
        self.wait(token)
        fields = self.task_fields(token, element)
        if TASK_HOOK is not None:
            passed = TASK_HOOK(self, token, element, fields)
            if passed:  # nobody has to act: the step passes as approved
                self.record(
                    "task-completed",
                    element,
                    started=self.now,
                    outcome=passed,
                    data={"assignee": fields["assignee"]},
                )
                self.set_variables({"approved": True})
                self.decision = "approved"
                self.leave(token, element)
                return
        self.tasks.append((token, element, fields))
        self.arm_boundaries(token, element)

    def wait_for_person(self, token: Token, element: Element, fields: dict[str, Any]) -> None:
        """A task for a given person at ``element`` (a start event returned to the
        initiator, a step moved to), without the participant rules."""
        self.wait(token)
        self.tasks.append((token, element, fields))
        self.arm_boundaries(token, element)

    def move_to(
        self, target: Element, scope: int | None, variables: Mapping[str, Any] | None = None
    ) -> Token:
        """Take away every token of ``scope`` and start one at ``target`` (退回, 撤回, an
        administrator's move). A start event waits for the initiator to submit again."""
        for child in self.children_of(scope):
            self.cancel(child)
        token = self.new_token(scope, target.id, variables=variables)
        self.touch(token)
        if target.kind is ElementKind.START_EVENT:
            self.wait_for_person(
                token,
                target,
                {
                    "assignee": self.instance.initiator,
                    "candidates": [],
                    "priority": 50,
                    "due_at": None,
                    "on_behalf_of": "",
                    "name": target.name or self.graph.process.name or self.instance.key,
                },
            )
        else:
            self.enter(token, target.id)
        return token

    def do_receive_task(self, token: Token, element: Element) -> None:
        self.wait(token)
        self.arm_event(token, element, element)
        self.arm_boundaries(token, element)

    def do_service_task(self, token: Token, element: Element) -> None:
        name = application_name(element)
        if self.call_application is None or name is None:
            raise ProcessError(element.id, _("no application is configured for this task"))
        app = applications.get(name)
        if app is None:
            raise ProcessError(
                element.id, _("the application %(name)s is not registered") % {"name": name}
            )
        if app.inline:
            self.invoke(token, element)
            return
        self.wait(token)
        self.add_job(token, "service", element.id, self.now, {})
        self.arm_boundaries(token, element)

    def invoke(
        self, token: Token, element: Element, result: Mapping[str, Any] | None = None
    ) -> None:
        """Run the task's application inline (or take the result a job brought) and move on;
        a BPMN error it throws goes to the boundary events."""
        if result is None and self.call_application is not None:
            try:
                result = self.call_application(element, self, token)
            except BpmnErrorThrown as thrown:
                self.catch_activity_error(token, element, thrown.code)
                return
        self.set_variables(result or {})
        self.leave(token, element)

    def do_sub_process(self, token: Token, element: Element) -> None:
        self.wait(token, "scope")
        self.arm_boundaries(token, element)
        self.open_scope(token.number, element.id)
        child = self.new_token(token.number, "")
        self.enter(child, self.graph.start_event(element.id).id)

    def do_call_activity(self, token: Token, element: Element) -> None:
        if self.load_graph is None:
            raise ProcessError(element.id, _("call activities cannot run here"))
        self.wait(token)
        self.arm_boundaries(token, element)
        called = str(self.evaluate(element.id, element.called_element, token))
        definition_id, graph = self.load_graph(called)
        variables = map_variables(
            self,
            element.in_mappings,
            self.scope(token),
            element.id,
            token,
            copied=self.scope(token, initiator=False),
        )
        child = start_instance(
            definition_id,
            graph,
            variables=variables,
            initiator=self.instance.initiator,
            business_key=self.instance.business_key,
            now=self.now,
            effects=self.effects,
            actor=self.actor,
            call_application=self.call_application,
            load_graph=self.load_graph,
            parent=(self, token),
        )
        self.children.append(child)

    def child_ended(self, token: Token, element: Element, child: Instance) -> None:
        """The called instance ended: copy its variables back and go on."""
        variables = map_variables(
            self, element.out_mappings, child.variables, element.id, None, all_from=child
        )
        self.set_variables(variables)
        self.clear_waits(token)
        if child.state == "completed":
            self.leave(token, element)

    # gateways

    def do_exclusive_gateway(self, token: Token, element: Element) -> None:
        flows = self.choose(token, element, first_only=True)
        self.leave(token, element, flows)

    def do_parallel_gateway(self, token: Token, element: Element) -> None:
        if self.graph.incoming_count[element.id] > 1:
            waiting = [
                t
                for t in self.tokens.values()
                if t.parent == token.parent
                and t.element_id == element.id
                and t.state == "joining"
                and t is not token
            ]
            if len(waiting) + 1 < self.graph.incoming_count[element.id]:
                self.wait(token, "joining")
                return
            for other in waiting[: self.graph.incoming_count[element.id] - 1]:
                self.record("activity", element, started=other.entered_at)
                self.drop(other)
        self.leave(token, element, self.graph.outgoing[element.id])

    def do_inclusive_gateway(self, token: Token, element: Element) -> None:
        if self.graph.incoming_count[element.id] > 1:
            self.wait(token, "joining")  # fire_inclusive_joins decides when all have come
            return
        self.leave(token, element, self.choose(token, element, first_only=False))

    def fire_inclusive_joins(self) -> bool:
        """Fire each inclusive join that no other token of its scope can still reach."""
        fired = False
        for token in list(self.tokens.values()):
            if token.status == "gone" or token.state != "joining":
                continue
            element = self.graph.elements[token.element_id]
            if element.kind is not ElementKind.INCLUSIVE_GATEWAY:
                continue
            siblings = [t for t in self.tokens.values() if t.parent == token.parent]
            arrived = [t for t in siblings if t.element_id == element.id and t.state == "joining"]
            if any(
                t.element_id != element.id and self.graph.can_reach(t.element_id, element.id)
                for t in siblings
            ):
                continue
            for other in arrived:
                if other is not token:
                    self.record("activity", element, started=other.entered_at)
                    self.drop(other)
            token.state = "active"
            self.leave(token, element, self.choose(token, element, first_only=False))
            fired = True
        return fired

    def do_event_gateway(self, token: Token, element: Element) -> None:
        if not self.graph.outgoing[element.id]:  # no event to wait for: an implicit end
            self.leave(token, element, ())
            return
        self.wait(token)
        for flow in self.graph.outgoing[element.id]:
            target = self.graph.elements[flow.target]
            self.arm_event(token, target, target)

    def choose(self, token: Token, element: Element, *, first_only: bool) -> tuple[Flow, ...]:
        flows = self.graph.outgoing[element.id]
        if not flows or (len(flows) == 1 and flows[0].condition is None):
            return flows  # none: the token ends here (an implicit end, see leave)
        scope = None
        chosen: list[Flow] = []
        default = None
        for flow in flows:
            if flow.id == element.default_flow:
                default = flow
                continue
            if flow.condition is None:
                chosen.append(flow)
            else:
                if scope is None:
                    scope = self.scope(token)
                try:
                    ok = flow.condition.evaluate(scope)
                except ExpressionError as error:
                    raise ProcessError(
                        flow.id,
                        _("the condition %(condition)s failed: %(error)s")
                        % {"condition": flow.condition.source, "error": error},
                    ) from error
                if ok:
                    chosen.append(flow)
            if first_only and chosen:
                break
        if not chosen and default is not None:
            chosen.append(default)
        if not chosen:
            raise ProcessError(
                element.id,
                _("no outgoing sequence flow's condition is true and there is no default flow"),
            )
        return tuple(chosen)

    # --- leaving elements -----------------------------------------------------------------

    def leave(
        self,
        token: Token,
        element: Element,
        flows: tuple[Flow, ...] | None = None,
        *,
        recorded: bool = False,
    ) -> None:
        resumed = token.state == "async-after"  # the activity was recorded before its job
        if element.kind is not ElementKind.END_EVENT and not resumed and not recorded:
            self.record("activity", element, started=token.entered_at)
        if self.graph.waits(element.id) != (False, False) or JOBS_MARK in token.variables:
            self.clear_waits(token)
        if element.multi_instance is not None and self.is_inner(token):
            self.inner_done(token, element)
            return
        if element.async_after and not resumed:
            self.wait(token, "async-after")
            payload: dict[str, Any] = {"after": True}
            if flows is not None:  # a gateway's choice is made now, not when the job runs
                payload["flows"] = [flow.id for flow in flows]
            self.add_job(token, "async", element.id, self.now, payload)
            return
        if flows is None:
            outgoing = self.graph.outgoing[element.id]
            if (len(outgoing) > 1 and element.kind.is_activity) or (
                len(outgoing) == 1 and outgoing[0].condition is not None
            ):
                flows = self.choose(token, element, first_only=False)
            else:
                flows = outgoing
        if not flows:  # an activity without outgoing flow ends its path (implicit end)
            parent = token.parent
            self.drop(token)
            self.after_token_ended(parent, element)
            return
        for index, flow in enumerate(flows):
            moving = token if index == 0 else self.new_token(token.parent, flow.target)
            self.enter(moving, flow.target)

    def after_token_ended(self, scope: int | None, element: Element | None) -> None:
        """A token of ``scope`` ended; when none is left, the scope completes."""
        if any(t.parent == scope and t.state != "event-scope-wait" for t in self.tokens.values()):
            return
        if scope is None:
            self.end_instance("completed", element)
            return
        scope_token = self.tokens[scope]
        scope_element = self.graph.elements[scope_token.element_id]
        self.close_scope(scope_token.number, scope_element.id)
        if scope_element.triggered_by_event:
            parent = scope_token.parent
            self.record("activity", scope_element, started=scope_token.entered_at)
            self.drop(scope_token)
            self.after_token_ended(parent, scope_element)
            return
        if MI_STATE in scope_token.variables:
            return  # a multi-instance body completes through inner_done
        scope_token.state = "active"
        self.leave(scope_token, scope_element)

    # --- scopes: sub-processes and event sub-processes ------------------------------------

    def open_scope(self, number: int | None, element_id: str | None) -> None:
        """Arm the start events of the event sub-processes of a scope that opens."""
        for sub in self.graph.event_subprocesses.get(element_id, ()):
            start = self.graph.event_start(sub.id)
            owner = Token(number or 0, None, start.id, "scope", {}, self.now)
            self.arm_event(owner, start, start)

    def close_scope(self, number: int | None, element_id: str | None) -> None:
        if self.graph.event_subprocesses.get(element_id):
            self.clear_scope_waits(number or 0, element_id)

    def start_event_subprocess(self, scope: int | None, start: Element) -> None:
        sub = self.graph.elements[start.parent_id]  # type: ignore[index]
        if start.is_interrupting:
            for child in self.children_of(scope):
                self.cancel(child)
            self.close_scope(scope, self.scope_element(scope))
        holder = self.new_token(scope, sub.id, "scope")
        first = self.new_token(holder.number, start.id)
        self.touch(first)
        self.leave(first, start)

    def terminate_scope(self, scope: int | None, element: Element) -> None:
        for child in self.children_of(scope):
            self.cancel(child)
        if scope is None:
            self.end_instance("completed", element)
        else:
            self.after_token_ended(scope, element)

    # --- multi-instance -------------------------------------------------------------------

    def start_multi_instance(self, token: Token, element: Element) -> None:
        mi = element.multi_instance
        if mi is None:
            raise ProcessError(element.id, "not a multi-instance activity")
        if mi.collection:
            text = (
                mi.collection if mi.collection.startswith(("${", "#{")) else f"${{{mi.collection}}}"
            )
            items = self.evaluate(element.id, text, token)
            if not isinstance(items, list | tuple):
                raise ProcessError(
                    element.id,
                    _("the collection %(collection)s is not a list")
                    % {"collection": mi.collection},
                )
            items = list(items)
        else:
            count = self.evaluate(element.id, mi.cardinality, token)
            try:
                items = [None] * int(count)
            except (TypeError, ValueError) as error:
                raise ProcessError(element.id, _("the loop cardinality is not a number")) from error
        self.wait(token, "scope")
        self.arm_boundaries(token, element)
        token.variables.update(
            {
                MI_STATE: {"items": items, "next": 0},
                "nrOfInstances": len(items),
                "nrOfCompletedInstances": 0,
                "nrOfActiveInstances": 0,
            }
        )
        if not items:
            self.finish_multi_instance(token, element)
            return
        for _index in range(1 if _sequential(element) else len(items)):
            self.next_inner(token, element)

    def next_inner(self, body: Token, element: Element) -> None:
        mi = element.multi_instance
        if mi is None:
            raise ProcessError(element.id, "not a multi-instance activity")
        state = body.variables[MI_STATE]
        index = state["next"]
        state["next"] = index + 1
        body.variables["nrOfActiveInstances"] += 1
        self.touch(body)
        local: dict[str, Any] = {"loopCounter": index}
        if mi.element_variable:
            local[mi.element_variable] = state["items"][index]
        inner = self.new_token(body.number, element.id, variables=local)
        self.enter(inner, element.id)

    def inner_done(self, inner: Token, element: Element) -> None:
        mi = element.multi_instance
        if mi is None:
            raise ProcessError(element.id, "not a multi-instance activity")
        body = self.tokens[inner.parent]  # type: ignore[index]
        body.variables["nrOfCompletedInstances"] += 1
        body.variables["nrOfActiveInstances"] -= 1
        self.touch(body)
        scope = self.scope(inner)
        scope.update(
            {
                k: body.variables[k]
                for k in ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances")
            }
        )
        self.drop(inner)
        done = False
        mode = element.properties.get("countersign")
        if mode:
            key = "nrOfRejected" if self.decision == "rejected" else "nrOfApproved"
            body.variables[key] = body.variables.get(key, 0) + 1
            result = countersign_result(
                mode,
                body.variables["nrOfInstances"],
                body.variables.get("nrOfApproved", 0),
                body.variables.get("nrOfRejected", 0),
            )
            if result is not None:
                self.set_variables(
                    {
                        "approved": result == "approved",
                        "nrOfApproved": body.variables.get("nrOfApproved", 0),
                        "nrOfRejected": body.variables.get("nrOfRejected", 0),
                    }
                )
                if result == "rejected" and self.reject_policy != "route":
                    for other in self.children_of(body.number):
                        self.cancel(other)
                    self.record("activity", element, started=body.entered_at, outcome="rejected")
                    self.reject(body)
                    return
                done = True
        elif mi.completion_condition:
            try:
                done = bool(self.graph.expression(mi.completion_condition).evaluate(scope))
            except ExpressionError as error:
                raise ProcessError(
                    element.id,
                    _("the completion condition %(condition)s failed: %(error)s")
                    % {"condition": mi.completion_condition, "error": error},
                ) from error
        state = body.variables[MI_STATE]
        if not done and state["next"] < len(state["items"]):
            if _sequential(element):
                self.next_inner(body, element)
            return
        if not done and body.variables["nrOfActiveInstances"] > 0:
            return
        for other in self.children_of(body.number):
            self.cancel(other)
        self.finish_multi_instance(body, element)

    def finish_multi_instance(self, body: Token, element: Element) -> None:
        body.variables.pop(MI_STATE, None)
        for name in (
            "nrOfInstances",
            "nrOfCompletedInstances",
            "nrOfActiveInstances",
            "nrOfApproved",
            "nrOfRejected",
        ):
            body.variables.pop(name, None)
        body.state = "active"
        self.touch(body)
        self.clear_waits(body)
        self.record("activity", element, started=body.entered_at, data={"multi_instance": True})
        flows = None
        outgoing = self.graph.outgoing[element.id]
        if len(outgoing) > 1 or (outgoing and outgoing[0].condition is not None):
            flows = self.choose(body, element, first_only=False)
        else:
            flows = outgoing
        if not flows:
            parent = body.parent
            self.drop(body)
            self.after_token_ended(parent, element)
            return
        for index, flow in enumerate(flows):
            moving = body if index == 0 else self.new_token(body.parent, flow.target)
            self.enter(moving, flow.target)

    # --- events: arming, firing, cancelling -----------------------------------------------

    def arm_boundaries(self, token: Token, element: Element) -> None:
        if element.multi_instance is not None and self.is_inner(token):
            return  # the boundary events of a multi-instance activity wait on its body
        for boundary in self.graph.boundaries.get(element.id, ()):
            if boundary.trigger is not EventTrigger.ERROR:
                self.arm_event(token, boundary, boundary)

    def arm_event(self, token: Token, event: Element, element: Element) -> None:
        """Make ``token`` wait for ``event`` (a timer job or a subscription)."""
        if event.trigger is EventTrigger.TIMER:
            due = self.timer_due(token, event, fired=0)
            if due is not None:
                self.add_job(token, "timer", event.id, due, {"fired": 0})
        elif event.trigger is EventTrigger.MESSAGE:
            name = str(self.evaluate(event.id, event.message_name, token))
            self.subscriptions.append(
                (self.instance.id, token.number, event.id, "message", name, self.db_now)
            )
        elif event.trigger is EventTrigger.SIGNAL:
            name = str(self.evaluate(event.id, event.signal_name, token))
            self.subscriptions.append(
                (self.instance.id, token.number, event.id, "signal", name, self.db_now)
            )
        elif event.kind is ElementKind.RECEIVE_TASK:
            name = event.message_name or event.id
            self.subscriptions.append(
                (self.instance.id, token.number, event.id, "message", name, self.db_now)
            )

    def timer_due(
        self,
        token: Token | None,
        event: Element,
        *,
        fired: int,
        since: datetime.datetime | None = None,
    ) -> datetime.datetime | None:
        timer = event.timer
        if timer is None:
            raise ProcessError(event.id, _("the timer has no value"))
        value = self.evaluate(event.id, timer.source, token)
        if isinstance(value, datetime.datetime):
            return value if fired == 0 else None
        try:
            return next_fire(
                timer.kind.value, str(value), now=since or self.now, tz=self.local_tz(), fired=fired
            )
        except TimerError as error:
            raise ProcessError(event.id, str(error)) from error

    @staticmethod
    def local_tz() -> datetime.tzinfo:
        return ZoneInfo(settings.TIME_ZONE)

    def add_job(
        self,
        token: Token | None,
        kind: str,
        element_id: str,
        due: datetime.datetime,
        payload: Mapping[str, Any],
    ) -> None:
        self.jobs.append(
            (
                self.instance.id,
                self.instance.root,
                self.instance.definition_id,
                token.number if token is not None else None,
                kind,
                element_id,
                store.db_time(due),
                JOB_RETRIES,
                store.dumps(payload),
                self.db_now,
            )
        )
        if due <= self.now:
            self.effects.wake_jobs = True

    def clear_waits(self, token: Token) -> None:
        jobs, subscriptions = self.graph.waits(token.element_id)
        if JOBS_MARK in token.variables:
            del token.variables[JOBS_MARK]
            jobs = True
        if token.status != "new":
            if jobs:
                self.cleared_jobs.add(token.number)
            if subscriptions:
                self.cleared_subscriptions.add(token.number)
        # rows armed in this very run for this token are not written at all
        if self.jobs:
            self.jobs = [j for j in self.jobs if j[3] != token.number]
        if self.subscriptions:
            self.subscriptions = [s for s in self.subscriptions if s[1] != token.number]

    def clear_scope_waits(self, number: int, element_id: str | None) -> None:
        """The waits of the event sub-process starts armed for a scope (0: the process
        level). Only theirs: a sub-process's own boundary events wait under the same number
        and stay while it runs (an interrupting event sub-process runs inside it)."""
        starts = {
            self.graph.event_start(sub.id).id
            for sub in self.graph.event_subprocesses.get(element_id, ())
        }
        if element_id is not None and self.graph.boundaries.get(element_id):
            self.cleared_starts.update((number, start) for start in starts)
        else:
            self.cleared_jobs.add(number)
            self.cleared_subscriptions.add(number)
        self.jobs = [j for j in self.jobs if not (j[3] == number and j[5] in starts)]
        self.subscriptions = [
            s for s in self.subscriptions if not (s[1] == number and s[2] in starts)
        ]

    def cancel(self, token: Token) -> None:
        """Take a token away (an interrupting event, terminate, a completed multi-instance):
        its children, its open task, its timers and subscriptions, a called instance."""
        for child in self.children_of(token.number):
            self.cancel(child)
        element = self.graph.elements.get(token.element_id)
        if token.status != "new":
            self.cancelled_tasks_for.add(token.number)
        self.tasks = [t for t in self.tasks if t[0] is not token]
        self.clear_waits(token)
        if element is not None:
            if token is not self.throwing:  # a signal thrower was recorded as it threw
                self.record("activity", element, started=token.entered_at, outcome="cancelled")
            if element.kind is ElementKind.CALL_ACTIVITY and token.state == "waiting":
                self.effects_cancel_child(token)
        self.drop(token)

    def effects_cancel_child(self, token: Token) -> None:
        found = store.one(
            f"SELECT id FROM {store.I} WHERE parent_id = %s AND parent_execution = %s "
            "AND state = 'active'",
            (self.instance.id, token.number),
        )
        if found is not None:
            child = load_run(
                found[0], self.now, self.effects, self.actor, self.call_application, self.load_graph
            )
            for t in child.children_of(None):
                child.cancel(t)
            child.end_instance("terminated", None, notify_parent=False)
            self.children.append(child)

    def fire(self, token: Token, event: Element, payload: Mapping[str, Any] | None = None) -> None:
        """An event ``token`` waits for happened (a timer fired, a message came)."""
        self.trigger(token, event, payload)
        self.drain()

    def trigger(
        self, token: Token, event: Element, payload: Mapping[str, Any] | None = None
    ) -> None:
        """Take the path an event ``token`` waits for opens; its steps go on the agenda."""
        if payload:
            self.set_variables(payload)
        if event.kind is ElementKind.BOUNDARY_EVENT:
            self.fire_boundary(token, event)
        elif event.kind is ElementKind.START_EVENT:  # an event sub-process
            self.start_event_subprocess(token.number or None, event)
        elif token.element_id != event.id:  # an event-based gateway: the first event wins
            gateway = self.graph.elements[token.element_id]
            self.clear_waits(token)
            self.record("activity", gateway, started=token.entered_at)
            token.element_id = event.id
            token.entered_at = self.now
            self.touch(token)
            self.leave(token, event)
        else:  # a catch event or a receive task
            self.clear_waits(token)
            self.leave(token, event)

    def fire_boundary(self, token: Token, event: Element) -> None:
        if event.cancel_activity:
            activity = self.graph.elements[token.element_id]
            for child in self.children_of(token.number):
                self.cancel(child)
            if token.status != "new":
                self.cancelled_tasks_for.add(token.number)
            if activity.kind is ElementKind.CALL_ACTIVITY and token.state == "waiting":
                self.effects_cancel_child(token)
            self.clear_waits(token)
            self.record("activity", activity, started=token.entered_at, outcome="cancelled")
            token.variables.pop(MI_STATE, None)
            for name in ("nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances"):
                token.variables.pop(name, None)
            token.element_id = event.id
            token.entered_at = self.now
            token.state = "active"
            self.touch(token)
            self.leave(token, event)
        else:
            branch = self.new_token(token.parent, event.id)
            self.leave(branch, event)

    def catch_activity_error(self, token: Token, element: Element, code: str | None) -> None:
        """A BPMN error thrown by the activity ``token`` is at (an application's error)."""
        if element.multi_instance is not None and self.is_inner(token):
            token = self.tokens[token.parent]  # type: ignore[index]  # the body's boundaries
        for boundary in self.graph.boundaries.get(element.id, ()):
            if boundary.trigger is EventTrigger.ERROR and boundary.error_code in (None, code):
                self.fire_boundary(token, boundary)
                return
        self.throw_error(token.parent, code, element, token)

    def throw_error(
        self, scope: int | None, code: str | None, source: Element, token: Token
    ) -> None:
        """Find the nearest handler of a BPMN error thrown inside ``scope``: an event
        sub-process of the scope, an error boundary event on the scope's activity, and so on
        outwards, then the calling instance's call activity."""
        while True:
            scope_element = self.scope_element(scope)
            for sub in self.graph.event_subprocesses.get(scope_element, ()):
                start = self.graph.event_start(sub.id)
                if start.trigger is EventTrigger.ERROR and start.error_code in (None, code):
                    self.start_event_subprocess(scope, start)
                    return
            if scope is None:
                break
            scope_token = self.tokens[scope]
            if self.is_inner(scope_token):  # one instance of a multi-instance sub-process
                scope_token = self.tokens[scope_token.parent]  # type: ignore[index]
            for boundary in self.graph.boundaries.get(scope_token.element_id, ()):
                if boundary.trigger is EventTrigger.ERROR and boundary.error_code in (None, code):
                    self.fire_boundary(scope_token, boundary)
                    return
            scope = scope_token.parent
        caller = self.caller()
        if caller is not None:
            # uncaught here: the called instance ends and its call activity throws the error
            run, waiting = caller
            self.end_instance("terminated", source, notify_parent=False)
            waiting.state = "active"  # its called instance is gone: nothing to cancel
            run.catch_activity_error(waiting, run.graph.elements[waiting.element_id], code)
            if self.parent_run is None:  # loaded for this; one started it drains itself
                run.drain()
            return
        raise ProcessError(
            source.id,
            _("the error %(code)s is not caught by any boundary event or event sub-process")
            % {"code": code or "-"},
        )

    def throw_signal(self, element: Element, token: Token) -> None:
        """A signal throw event (intermediate or end). As in Camunda, the signal reaches this
        instance's waits at once, in this transaction and before the throwing token goes on
        or ends: its catch events, boundary events and event sub-process starts (an
        interrupting one may take the thrower away: the caller looks at its status). The
        other instances and the processes a signal starts receive it after the commit
        (``signal_throw``, which passes over this instance: nothing receives it twice)."""
        name = str(self.evaluate(element.id, element.signal_name, token))
        self.effects.signals.append((name, {}, self.instance.id))
        self.throwing = token
        try:
            for number, element_id, stored in self.signal_waits(name):
                if self.instance.state != "active":
                    break
                if not self.still_waits(number, element_id, stored):
                    continue  # taken away by a signal delivered before it
                owner = (
                    self.tokens[number]
                    if number
                    else Token(0, None, element_id, "scope", {}, self.now)  # the process level
                )
                self.trigger(owner, self.graph.elements[element_id])
        finally:
            self.throwing = None

    def signal_waits(self, name: str) -> list[tuple[int, str, bool]]:
        """This instance's waits for signal ``name`` as (token number, element, stored): the
        subscriptions written before this run (none for an instance started in it, none
        looked up when nothing in the process catches a signal), then those armed in it."""
        found: list[tuple[int, str, bool]] = []
        if not self.new_instance and any(
            e.trigger is EventTrigger.SIGNAL
            and e.kind not in (ElementKind.END_EVENT, ElementKind.INTERMEDIATE_THROW_EVENT)
            for e in self.graph.elements.values()
        ):
            for number, element_id in store.rows(
                f"SELECT execution, element_id FROM {store.S} WHERE instance_id = %s "
                "AND kind = 'signal' AND name = %s ORDER BY id",
                (self.instance.id, name),
            ):
                found.append((number, element_id, True))
        for row in self.subscriptions:
            if row[3] == "signal" and row[4] == name:
                found.append((row[1], row[2], False))
        return found

    def still_waits(self, number: int, element_id: str, stored: bool) -> bool:
        """Whether a wait ``signal_waits`` found is still armed: its token is still there and
        this run has not cleared it (a written row) or dropped it (an unwritten one)."""
        if number and number not in self.tokens:
            return False
        if stored:
            return (
                number not in self.cleared_subscriptions
                and (number, element_id) not in self.cleared_starts
            )
        return any(
            row[1] == number and row[2] == element_id and row[3] == "signal"
            for row in self.subscriptions
        )

    def throw_message(self, element: Element, token: Token) -> None:
        name = str(self.evaluate(element.id, element.message_name, token))
        self.effects.messages.append((name, {}, self.instance.business_key))

    # --- user tasks -----------------------------------------------------------------------

    def task_fields(self, token: Token, element: Element) -> dict[str, Any]:
        assignee = self.evaluate(element.id, element.assignee, token) or ""
        candidates: list[tuple[str, str]] = []
        for kind, text in (("user", element.candidate_users), ("group", element.candidate_groups)):
            value = self.evaluate(element.id, text, token)
            for item in value if isinstance(value, list | tuple) else str(value or "").split(","):
                item = str(item).strip()
                if item:
                    candidates.append((kind, item))
        priority = self.evaluate(element.id, element.priority, token)
        try:
            priority = int(priority) if priority not in (None, "") else 50
        except (TypeError, ValueError):
            priority = 50
        return {
            "assignee": str(assignee),
            "candidates": candidates,
            "priority": priority,
            "due_at": self.due_date(token, element),
        }

    def due_date(self, token: Token, element: Element) -> datetime.datetime | None:
        text = element.due_date
        if not text:
            return None
        offset = due_date_offset(text)
        try:
            if offset is not None:
                return parse_duration(offset).add_to(self.now)
            value = self.evaluate(element.id, text, token)
            if isinstance(value, datetime.datetime):
                return value
            if isinstance(value, datetime.date):
                value = value.isoformat()
            return parse_date(str(value), tz=self.local_tz())
        except (TimerError, ValueError) as error:
            raise ProcessError(
                element.id,
                _("the due date %(value)s is not a date: %(error)s")
                % {"value": text, "error": error},
            ) from error

    # --- ending ---------------------------------------------------------------------------

    def end_instance(
        self, state: str, element: Element | None, *, notify_parent: bool = True
    ) -> None:
        instance = self.instance
        if instance.state not in ("active", "suspended"):
            return
        for token in list(self.tokens.values()):
            self.cancel(token)
        if self.graph.event_subprocesses.get(None):
            self.clear_scope_waits(0, None)
        instance.state = state
        instance.ended_at = self.now
        instance.end_event = element.id if element is not None else ""
        self.record("instance-end", element, started=instance.started_at, outcome=state)
        self.effects.ended.append((instance.id, state))
        caller = self.caller() if notify_parent else None
        if caller is not None:
            run, waiting = caller
            run.child_ended(waiting, run.graph.elements[waiting.element_id], instance)
            if self.parent_run is None:  # started in this very action, the caller drains
                run.drain()

    parent_run: tuple[Run, Token] | None = None

    def caller(self) -> tuple[Run, Token] | None:
        """The calling instance's run and its token that waits at the call activity (None
        for an instance no call activity started). A caller loaded here is written with
        this run."""
        if self.instance.parent_id is None:
            return None
        if self.parent_run is not None:
            return self.parent_run
        run = load_run(
            self.instance.parent_id,
            self.now,
            self.effects,
            self.actor,
            self.call_application,
            self.load_graph,
        )
        waiting = run.tokens.get(self.instance.parent_execution or 0)
        if waiting is None:
            return None
        self.children.append(run)
        return run, waiting

    # --- writing --------------------------------------------------------------------------

    def flush(self, batch: store.Batch | None = None) -> None:
        """Write everything this run (and the runs it started or touched) changed, in one
        batch of statements sent at the end."""
        own = batch is None
        batch = batch if batch is not None else self.batch
        if batch is not self.batch:
            batch.statements.extend(self.batch.statements)
            self.batch.statements = []
        for child in self.children:
            child.flush(batch)
        self.children = []
        instance = self.instance
        iid = instance.id
        if not self.new_instance:
            self.effects.written.add(iid)
        ended = instance.state not in ("active", "suspended")
        store.cancel_tasks(batch, iid, self.cancelled_tasks_for, self.db_now)
        if self.cleared_jobs:
            store.delete_by_numbers(batch, store.J, iid, self.cleared_jobs)
        if self.cleared_subscriptions:
            store.delete_by_numbers(batch, store.S, iid, self.cleared_subscriptions)
        for table in (store.J, store.S):
            for number, element_id in sorted(self.cleared_starts):
                batch.add(
                    f"DELETE FROM {table} WHERE instance_id = %s AND execution = %s "
                    "AND element_id = %s",
                    (iid, number, element_id),
                )
        if ended:
            if not self.new_instance:
                store.delete_all(batch, store.E, iid)
        else:
            store.delete_by_numbers(batch, store.E, iid, self.gone_numbers)
            inserts, updates = [], []
            for token in self.tokens.values():
                if token.status == "clean":
                    continue
                row = (
                    token.parent,
                    token.element_id,
                    token.state,
                    store.dumps(token.variables),
                    store.db_time(token.entered_at),
                )
                if token.status == "new":
                    inserts.append((token.number, *row))
                else:
                    updates.append((*row, token.number))
                token.status = "clean"
            store.insert_executions(batch, iid, inserts)
            store.update_executions(batch, iid, updates)
            store.insert_jobs(batch, self.jobs)
            store.insert_subscriptions(batch, self.subscriptions)
        # the revision changes with every action, so the row is always written
        store.update_instance(
            batch,
            iid,
            instance.state,
            store.dumps(instance.variables),
            instance.next_number,
            instance.end_event,
            store.db_time(instance.ended_at),
            instance.business_key,
            instance.title,
        )
        store.insert_history(batch, self.history)
        if self.tasks and not ended:
            store.insert_tasks(
                batch,
                [
                    (
                        iid,
                        token.number,
                        instance.key,
                        element.id,
                        fields.get("name") or element.name,
                        fields["assignee"],
                        fields["priority"],
                        element.form_key or "",
                        self.db_now,
                        store.db_time(fields["due_at"]),
                        fields.get("on_behalf_of", ""),
                    )
                    for token, element, fields in self.tasks
                ],
            )
            self.effects.tasks_created.extend((iid, token.number) for token, _e, _f in self.tasks)
            store.insert_candidates(
                batch,
                iid,
                [
                    (token.number, kind, value)
                    for token, _element, fields in self.tasks
                    for kind, value in fields["candidates"]
                ],
            )
        self.history = []
        self.jobs = []
        self.subscriptions = []
        self.tasks = []
        self.cancelled_tasks_for = set()
        self.cleared_jobs = set()
        self.cleared_subscriptions = set()
        self.cleared_starts = set()
        self.gone_numbers = set()
        if own:
            batch.send()

    def reject(self, token: Token) -> None:
        """A step was rejected and the process settings do not let the diagram decide:
        ``end`` ends the instance as rejected, ``return`` gives it back to the initiator."""
        if self.reject_policy == "return":
            self.move_to(self.graph.start_event(None), None)
        else:
            self.end_instance("rejected", self.graph.elements.get(token.element_id))


def _sequential(element: Element) -> bool:
    mi = element.multi_instance
    return mi is not None and (mi.sequential or element.properties.get("countersign") == "sequence")


def countersign_result(mode: str, total: int, approved: int, rejected: int) -> str | None:
    """The decision of a countersign step so far (None: not decided yet). ``all`` and
    ``sequence`` (会签, 依次): one rejection rejects, all approvals approve; ``any`` (或签):
    the first decision; ``ratio:p`` (``0.6``, ``2/3``, ``60%``: ``ratio_share``): approved
    once that share of all approved, rejected once it can no longer be reached."""
    if mode in ("all", "sequence"):
        if rejected:
            return "rejected"
        return "approved" if approved >= total else None
    if mode == "any":
        if approved:
            return "approved"
        return "rejected" if rejected else None
    share = ratio_share(mode)
    if share is not None:
        if total == 0 or Fraction(approved, total) >= share:
            return "approved"
        if Fraction(total - rejected, total) < share:
            return "rejected"
        return None
    return None


JOB_RETRIES = 3

_HANDLERS: dict[ElementKind, Callable[[Run, Token, Element], None]] = {
    ElementKind.START_EVENT: Run.do_start_event,
    ElementKind.END_EVENT: Run.do_end_event,
    ElementKind.INTERMEDIATE_THROW_EVENT: Run.do_throw_event,
    ElementKind.INTERMEDIATE_CATCH_EVENT: Run.do_catch_event,
    ElementKind.BOUNDARY_EVENT: Run.do_boundary_event,
    ElementKind.TASK: Run.do_pass,
    ElementKind.MANUAL_TASK: Run.do_pass,
    ElementKind.USER_TASK: Run.do_user_task,
    ElementKind.SERVICE_TASK: Run.do_service_task,
    ElementKind.SEND_TASK: Run.do_service_task,
    ElementKind.RECEIVE_TASK: Run.do_receive_task,
    ElementKind.SUB_PROCESS: Run.do_sub_process,
    ElementKind.CALL_ACTIVITY: Run.do_call_activity,
    ElementKind.EXCLUSIVE_GATEWAY: Run.do_exclusive_gateway,
    ElementKind.PARALLEL_GATEWAY: Run.do_parallel_gateway,
    ElementKind.INCLUSIVE_GATEWAY: Run.do_inclusive_gateway,
    ElementKind.EVENT_BASED_GATEWAY: Run.do_event_gateway,
}


def map_variables(
    run: Run,
    mappings: Sequence[VariableMapping],
    source: Mapping[str, Any],
    element_id: str,
    token: Token | None,
    *,
    all_from: Instance | None = None,
    copied: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A call activity's in/out mappings; with none at all, every variable is copied.
    ``copied`` is what "every variable" means when it is not all of ``source`` (the
    ``initiator`` an expression sees is no variable to copy)."""
    everything = {k: v for k, v in (source if copied is None else copied).items() if k != MI_STATE}
    if not mappings:
        return everything
    result: dict[str, Any] = {}
    for mapping in mappings:
        if mapping.all_variables:
            result.update(everything)
        elif mapping.source_expression:
            try:
                value = run.graph.expression(mapping.source_expression).evaluate(source)
            except ExpressionError as error:
                raise ProcessError(element_id, str(error)) from error
            result[mapping.target or ""] = value
        elif mapping.source is not None and mapping.source in source:
            result[mapping.target or mapping.source] = source[mapping.source]
    return result


def start_instance(
    definition_id: int,
    graph: Graph,
    *,
    variables: Mapping[str, Any],
    initiator: str,
    business_key: str,
    now: datetime.datetime,
    effects: Effects,
    actor: str = "",
    call_application: Application | None = None,
    load_graph: Callable[[str], tuple[int, Graph]] | None = None,
    parent: tuple[Run, Token] | None = None,
    start_event: Element | None = None,
    title: str = "",
) -> Run:
    """Insert an instance and run it from its start event to its first wait states; the
    rows are written by ``flush`` (called here for a top-level start)."""
    start = start_event or graph.start_event(None)
    values = dict(variables)
    if start.initiator and initiator:
        values[start.initiator] = initiator  # who started it, never what a caller wrote
    parent_run, parent_token = parent if parent else (None, None)
    root_id = None
    if parent_run is not None:
        root_id = parent_run.instance.root
    title = title or graph.process.name or graph.key
    instance_id = store.insert_instance(
        (
            definition_id,
            graph.key,
            business_key,
            title[:255],
            initiator,
            "active",
            store.dumps(values),
            parent_run.instance.id if parent_run else None,
            parent_token.number if parent_token else None,
            root_id,
            "",
            store.db_time(now),
            1,
            1,
            search_text(title[:255], graph.process.name, business_key),
        )
    )
    instance = Instance(
        id=instance_id,
        definition_id=definition_id,
        key=graph.key,
        business_key=business_key,
        title=title[:255],
        initiator=initiator,
        state="active",
        variables=values,
        parent_id=parent_run.instance.id if parent_run else None,
        parent_execution=parent_token.number if parent_token else None,
        root_id=root_id,
        end_event="",
        started_at=now,
        revision=1,
        next_number=1,
    )
    run = Run(
        instance,
        {},
        graph,
        now=now,
        effects=effects,
        actor=actor,
        call_application=call_application,
        load_graph=load_graph,
    )
    run.new_instance = True
    if parent is not None:
        run.parent_run = parent
    run.record(
        "instance-start",
        start,
        actor=initiator,
        data={"business_key": business_key} if business_key else None,
    )
    run.open_scope(None, None)
    token = run.new_token(None, start.id)
    run.enter(token, start.id)
    run.drain()
    if parent is None:
        run.flush()
    return run


def load_run(
    instance_id: int,
    now: datetime.datetime,
    effects: Effects,
    actor: str,
    call_application: Application | None,
    load_graph: Callable[[str], tuple[int, Graph]] | None,
    rows: tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]] | None = None,
) -> Run:
    """The instance's run, read now, or from ``rows`` (its instance row and token rows)
    where the caller read them with its lock."""
    row, token_rows = rows if rows is not None else (store.load_instance(instance_id), None)
    if row is None:
        raise EngineError(_("The process instance does not exist."))
    instance = Run.instance_from_row(row)
    graph = graph_for_definition(instance.definition_id)
    tokens = Run.tokens_from_rows(
        token_rows if token_rows is not None else store.load_executions(instance_id)
    )
    run = Run(
        instance,
        tokens,
        graph,
        now=now,
        effects=effects,
        actor=actor,
        call_application=call_application,
        load_graph=load_graph,
    )
    return run
