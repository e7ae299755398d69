"""Decide whether the engine can run a parsed BPMN file: every problem at once, each naming the
element it concerns in words a process designer understands.

Only executable processes are judged; descriptive ones (``isExecutable="false"``) only have to
parse. Pure Python (no Django).

How a service or send task names its *invoked application* (the name looked up in the
``applications`` the caller registers):

* ``camunda:topic="erp.reserve_budget"`` (external tasks, with ``camunda:type="external"``);
* ``camunda:type="erp.reserve_budget"``;
* ``camunda:delegateExpression`` / ``camunda:expression`` written ``${erp.reserve_budget}`` or
  ``${erp.reserve_budget(execution)}``: the name inside (a bean name, dotted or not);
* ``camunda:class="erp.reserve_budget"``: the class text verbatim. A Java class name
  (``com.acme.Foo``) is accepted only when the caller registers exactly that name.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection, Iterable
from datetime import UTC
from fractions import Fraction

from workflow.bpmn.expressions import ExpressionError, compile_expression, is_expression
from workflow.bpmn.model import (
    BpmnError,
    Definitions,
    Element,
    ElementKind,
    EventTrigger,
    Problem,
    Process,
    TimerKind,
)
from workflow.bpmn.parser import parse_with_problems
from workflow.bpmn.timers import (
    TimerError,
    history_time_to_live,
    next_fire,
    parse_cycle,
    parse_date,
    parse_duration,
)

__all__ = ["application_name", "due_date_offset", "parse_and_validate", "ratio_share", "validate"]

_REFUSED_KINDS = {
    ElementKind.SCRIPT_TASK: (
        "script tasks are not run: this engine never executes code from a file; use a service "
        "task with a registered application"
    ),
    ElementKind.BUSINESS_RULE_TASK: (
        "business rule tasks need decision tables, which are not supported yet"
    ),
    ElementKind.COMPLEX_GATEWAY: (
        "complex gateways are not supported; use exclusive, inclusive or parallel gateways"
    ),
    ElementKind.TRANSACTION: (
        "transaction sub-processes are not supported (they need compensation and cancel events)"
    ),
    ElementKind.AD_HOC_SUB_PROCESS: "ad-hoc sub-processes are not supported",
}
_REFUSED_TRIGGERS = {
    EventTrigger.COMPENSATE: "compensation events are not supported",
    EventTrigger.ESCALATION: "escalation events are not supported",
    EventTrigger.CONDITIONAL: "conditional events are not supported",
    EventTrigger.LINK: "link events are not supported; draw the sequence flow instead",
    EventTrigger.CANCEL: "cancel events are not supported (they belong to transactions)",
    EventTrigger.MULTIPLE: (
        "events with several event definitions (multiple / parallel multiple) are not supported"
    ),
}
_INVOKING = (ElementKind.SERVICE_TASK, ElementKind.SEND_TASK)
_BEAN = re.compile(
    r"^[$#]\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*(?:\(\s*(?:execution)?\s*\))?\s*\}$"
)
# Camunda's idiom for a due date relative to now: ${dateTime().plusDays(3).toDate()}
_DUE_DATE_IDIOM = re.compile(
    r"^\$\{\s*dateTime\(\)"
    r"((?:\.plus(?:Seconds|Minutes|Hours|Days|Weeks|Months|Years)\(\s*\d+\s*\))*)"
    r"(?:\.toDate\(\))?\s*\}$"
)
_DUE_DATE_STEP = re.compile(r"\.plus(Seconds|Minutes|Hours|Days|Weeks|Months|Years)\(\s*(\d+)\s*\)")
_ISO_UNIT = {
    "Seconds": "TS",
    "Minutes": "TM",
    "Hours": "TH",
    "Days": "D",
    "Weeks": "W",
    "Months": "M",
    "Years": "Y",
}
# A process key is an XML id (NCName): it appears in addresses (/workflow/processes/<key>/start/)
# and is stored in columns of 255 characters, as are names; a history time-to-live in 40.
_PROCESS_KEY = re.compile(r"[^\W\d][\w.\-]*")
MAX_KEY_CHARS = 255
MAX_NAME_CHARS = 255
MAX_TTL_CHARS = 40
# Dates the engine stores (timer due times, task due dates) must stay inside what a date-time can
# hold in every time zone, a day's margin at both ends.
_EARLIEST = datetime.datetime(1, 1, 3, tzinfo=UTC)
_LATEST = datetime.datetime(9999, 12, 29, tzinfo=UTC)


def application_name(element: Element) -> str | None:
    """The invoked-application name a service/send task's implementation gives, or None when it
    gives none (no implementation, or an expression that is not ``${name}``)."""
    text = element.implementation
    if not text:
        return None
    if element.implementation_kind in ("expression", "delegateExpression"):
        match = _BEAN.match(text.strip())
        return match.group(1) if match else None
    return text.strip()


def split_participants(text: str) -> list[str]:
    """The items of a comma-separated participant list (``a, role:b, ${deptHead(x, 2)}``):
    commas inside ``${...}`` do not split."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def ratio_share(mode: str) -> Fraction | None:
    """The share of approvals a ``ratio:`` countersign needs, written as a decimal
    (``ratio:0.6``), a fraction (``ratio:2/3``) or a percentage (``ratio:60%``), above 0 and
    at most 1; None when ``mode`` is not such a ratio."""
    if not mode.startswith("ratio:"):
        return None
    text = mode[6:].strip()
    try:
        if text.endswith("%"):
            share = Fraction(text[:-1].strip()) / 100
        elif "/" in text:
            top, _slash, bottom = text.partition("/")
            share = Fraction(int(top.strip()), int(bottom.strip()))
        else:
            share = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return share if 0 < share <= 1 else None


def due_date_offset(text: str) -> str | None:
    """The ISO-8601 duration a due date counts from its task's creation: the text itself
    when it is a duration (``PT30S``, ``P1DT2H30M15S``: a date-time never starts with P; one
    that does not parse is the caller's error to report), or that of Camunda's
    ``${dateTime().plusDays(3).toDate()}`` idiom (``P3D``); None otherwise."""
    if text.strip()[:1] in ("P", "p"):
        return text.strip()
    match = _DUE_DATE_IDIOM.match(text.strip())
    if match is None:
        return None
    date_part: list[str] = []
    time_part: list[str] = []
    for unit, amount in _DUE_DATE_STEP.findall(match.group(1)):
        code = _ISO_UNIT[unit]
        (time_part if code.startswith("T") else date_part).append(f"{amount}{code[-1]}")
    duration = "P" + "".join(date_part) + ("T" + "".join(time_part) if time_part else "")
    return duration if duration != "P" else "PT0S"


class _Checker:
    def __init__(
        self,
        definitions: Definitions,
        applications: Collection[str],
        deployed_processes: Collection[str],
        functions: Collection[str],
    ) -> None:
        self.definitions = definitions
        self.applications = frozenset(applications)
        self.deployed = frozenset(deployed_processes) | frozenset(definitions.processes)
        self.functions = frozenset(functions) or None
        self.problems: list[Problem] = []

    def add(self, element_id: str, message: str) -> None:
        problem = Problem(element_id, message)
        if problem not in self.problems:
            self.problems.append(problem)

    def compile(self, element_id: str, what: str, text: str) -> None:
        try:
            compile_expression(text, allowed_functions=self.functions)
        except ExpressionError as error:
            self.add(element_id, f'{what} "{text}" does not compile: {error}')

    # --- the process graph -------------------------------------------------------------

    def check_process_attributes(self, process: Process) -> None:
        key = process.id
        if not key:
            self.add("", "an executable process has no id; its id is the process key")
        elif len(key) > MAX_KEY_CHARS or not _PROCESS_KEY.fullmatch(key):
            shown = key if len(key) <= 60 else key[:57] + "..."
            self.add(
                key,
                f'the process id "{shown}" is not a valid process key: it must start with a '
                f"letter or '_', hold only letters, digits, '_', '-' and '.', and have at most "
                f"{MAX_KEY_CHARS} characters",
            )
        if len(process.name) > MAX_NAME_CHARS:
            self.add(key, f"the process name is longer than {MAX_NAME_CHARS} characters")
        ttl = process.history_time_to_live
        if ttl is not None:
            if len(ttl) > MAX_TTL_CHARS:
                self.add(key, f"historyTimeToLive is longer than {MAX_TTL_CHARS} characters")
            else:
                try:
                    history_time_to_live(ttl).add_to(datetime.datetime.now(UTC))
                except TimerError as error:
                    if "out of range" in str(error):
                        self.add(key, f'historyTimeToLive "{ttl}" is too long: {error}')
                    else:
                        self.add(
                            key,
                            f'historyTimeToLive "{ttl}" is neither a number of days nor an '
                            f"ISO 8601 duration such as P180D: {error}",
                        )

    def check_process(self, process: Process) -> None:
        self.check_process_attributes(process)
        if not process.start_events(None):
            self.add(process.id, "the process has no start event")
        for flow in process.flows.values():
            for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
                if ref in process.elements:
                    continue
                graphic = self.definitions.graphics.get(ref)
                if graphic is None:
                    self.add(flow.id, f'{end} "{ref}" names no element')
                else:
                    self.add(
                        flow.id,
                        f'{end} "{ref}" is a {graphic.tag}, which is not a flow node the engine '
                        "runs",
                    )
            if flow.condition is not None:
                self.compile(flow.id, "condition", flow.condition)
        for element in process.elements.values():
            self.check_element(process, element)

    def check_element(self, process: Process, element: Element) -> None:
        kind = element.kind
        eid = element.id
        name = " ".join(element.name.split())
        label = f'{kind.value} "{name}"' if name else kind.value
        if kind in _REFUSED_KINDS:
            self.add(eid, f"{label}: {_REFUSED_KINDS[kind]}")
        if element.trigger in _REFUSED_TRIGGERS:
            self.add(eid, f"{label}: {_REFUSED_TRIGGERS[element.trigger]}")
        for listener in ("executionListener", "taskListener"):
            value = element.extensions.get(f"camunda:{listener}")
            if value is not None:
                self.add(
                    eid,
                    f"{label} has a {listener} ({value}): Java listeners are not supported; "
                    "model the work as a service task",
                )
        self.check_connections(process, element, label)
        if kind.is_event:
            self.check_event(process, element, label)
        if kind in _INVOKING:
            self.check_implementation(element, label)
        if kind is ElementKind.CALL_ACTIVITY:
            self.check_call(element, label)
        if (
            kind in _CONTAINER_KINDS
            and not element.triggered_by_event
            and not process.start_events(eid)
        ):
            self.add(eid, f"{label}: the sub-process has no start event")
        self.check_expressions(element)
        if element.properties:
            self.check_step_properties(element, label)

    def check_step_properties(self, element: Element, label: str) -> None:
        """The approval properties of a user task (docs/approvals.md)."""
        eid = element.id
        props = element.properties
        mode = props.get("countersign")
        if mode is not None:
            if mode not in ("all", "any", "sequence") and ratio_share(mode) is None:
                self.add(
                    eid,
                    f'{label}: countersign "{mode}" must be all, any, sequence or a ratio of '
                    "approvals above 0 and at most 1: ratio:0.6, ratio:2/3 or ratio:60%",
                )
            elif element.kind is not ElementKind.USER_TASK or element.multi_instance is None:
                self.add(eid, f"{label}: countersign needs a multi-instance user task")
        timeout = props.get("timeout")
        if timeout is not None and timeout not in ("", "remind", "escalate", "approve", "reject"):
            self.add(
                eid, f'{label}: timeout "{timeout}" must be remind, escalate, approve or reject'
            )
        remind = props.get("remindBefore")
        if remind:
            try:
                parse_duration(remind).add_to(datetime.datetime.now(UTC))
            except TimerError as error:
                self.add(eid, f'{label}: remindBefore "{remind}" is not a duration: {error}')
        signature = props.get("signature")  # 签名 (workflow.signatures)
        if signature is not None and signature.strip().lower() not in ("required", "optional"):
            self.add(eid, f'{label}: signature "{signature}" must be required or optional')
        for item in split_participants(props.get("cc") or ""):
            if is_expression(item):
                self.compile(eid, "cc", item)

    def check_connections(self, process: Process, element: Element, label: str) -> None:
        kind = element.kind
        eid = element.id
        graphic = self.definitions.graphics.get(eid)
        compensation = graphic is not None and "compensation" in graphic.markers
        # BPMN 2.0 allows implicit ends, and Camunda deploys them: a node without an outgoing
        # flow ends its token there (the engine drops it; the scope completes when no token is
        # left), and an end event nothing flows into is simply never reached.
        exempt_incoming = (
            kind is ElementKind.START_EVENT
            or kind is ElementKind.END_EVENT
            or kind is ElementKind.BOUNDARY_EVENT
            or element.triggered_by_event
            or compensation  # a compensation handler is reached through its boundary event
        )
        if not element.incoming and not exempt_incoming:
            self.add(eid, f"{label} has no incoming sequence flow, so it is never reached")
        if element.default_flow is not None and element.default_flow not in element.outgoing:
            self.add(
                eid,
                f'{label}: the default flow "{element.default_flow}" does not leave this element',
            )
        if (
            kind in (ElementKind.EXCLUSIVE_GATEWAY, ElementKind.INCLUSIVE_GATEWAY)
            and len(element.outgoing) > 1
        ):
            for flow_id in element.outgoing:
                flow = process.flows.get(flow_id)
                if flow is not None and flow.condition is None and flow_id != element.default_flow:
                    self.add(
                        flow_id,
                        f"the sequence flow leaves the {label} among several and has no "
                        "condition; give it a condition or make it the gateway's default flow",
                    )

    def check_event(self, process: Process, element: Element, label: str) -> None:
        eid = element.id
        if element.attached_to is not None and element.attached_to not in process.elements:
            self.add(eid, f'attachedToRef "{element.attached_to}" names no activity')
        if element.trigger is EventTrigger.MESSAGE and not element.message_name:
            self.add(eid, f"{label}: the message event names no message (messageRef)")
        if element.trigger is EventTrigger.SIGNAL and not element.signal_name:
            self.add(eid, f"{label}: the signal event names no signal (signalRef)")
        if element.trigger is EventTrigger.TIMER:
            timer = element.timer
            if timer is None:
                self.add(
                    eid, f"{label}: the timer has no value (timeDuration, timeDate or timeCycle)"
                )
            elif is_expression(timer.source):
                self.compile(eid, "timer", timer.source)
            else:
                try:
                    if timer.kind is TimerKind.DURATION:
                        parse_duration(timer.source)
                    elif timer.kind is TimerKind.DATE:
                        parse_date(timer.source, tz=UTC)
                    else:
                        parse_cycle(timer.source, tz=UTC)
                except (TimerError, ValueError) as error:
                    self.add(
                        eid,
                        f'{label}: the timer {timer.kind.value} "{timer.source}" is not valid '
                        f"ISO-8601: {error}",
                    )
                else:
                    problem = _first_firing_problem(timer.kind.value, timer.source)
                    if problem:
                        self.add(
                            eid,
                            f'{label}: the timer {timer.kind.value} "{timer.source}" cannot be '
                            f"scheduled: {problem}",
                        )

    def check_implementation(self, element: Element, label: str) -> None:
        eid = element.id
        if not element.implementation:
            self.add(
                eid,
                f"{label} has no implementation; name a registered application, e.g. "
                'camunda:type="erp.reserve_budget"',
            )
            return
        name = application_name(element)
        kind = element.implementation_kind
        if name is None:
            self.add(
                eid,
                f'{label}: camunda:{kind}="{element.implementation}" does not name an '
                'application; write the application name as "${erp.reserve_budget}" or use '
                'camunda:type="erp.reserve_budget"',
            )
            return
        if name in self.applications:
            return
        known = ", ".join(sorted(self.applications)) or "none is registered"
        if kind == "class":
            self.add(
                eid,
                f'{label}: camunda:class="{name}" is not a registered application (Java classes '
                "map to no registered application); name a registered application, e.g. "
                f'camunda:type="erp.reserve_budget". Registered: {known}',
            )
        else:
            self.add(
                eid,
                f'{label}: "{name}" (camunda:{kind}) is not a registered application. '
                f"Registered: {known}",
            )

    def check_call(self, element: Element, label: str) -> None:
        called = element.called_element
        if not called:
            self.add(element.id, f"{label}: the call activity names no process (calledElement)")
        elif is_expression(called):
            self.compile(element.id, "calledElement", called)
        elif called not in self.deployed:
            self.add(
                element.id,
                f'{label}: calledElement "{called}" is neither a process of this file nor a '
                "deployed process",
            )
        for mapping in (*element.in_mappings, *element.out_mappings):
            if mapping.source_expression:
                self.compile(element.id, "sourceExpression", mapping.source_expression)

    def check_expressions(self, element: Element) -> None:
        eid = element.id
        mi = element.multi_instance
        if mi is not None:
            if mi.completion_condition:
                self.compile(eid, "completionCondition", mi.completion_condition)
            if mi.collection and is_expression(mi.collection):
                self.compile(eid, "collection", mi.collection)
            if mi.cardinality and is_expression(mi.cardinality):
                self.compile(eid, "loopCardinality", mi.cardinality)
            if mi.collection is None and mi.cardinality is None:
                self.add(
                    eid,
                    "the multi-instance activity has neither a collection nor a loop cardinality",
                )
        for what, text in (
            ("assignee", element.assignee),
            ("candidateUsers", element.candidate_users),
            ("candidateGroups", element.candidate_groups),
            ("priority", element.priority),
        ):
            if text and is_expression(text):
                self.compile(eid, what, text)
        if element.due_date:
            due = element.due_date
            offset = due_date_offset(due)
            if offset is not None:  # the relative due-date idiom of Camunda: a duration
                try:
                    parse_duration(offset).add_to(datetime.datetime.now(UTC))
                except TimerError as error:
                    self.add(eid, f'dueDate "{due}" cannot be scheduled: {error}')
            elif is_expression(due):
                self.compile(eid, "dueDate", due)
            else:
                try:
                    moment = parse_date(due, tz=UTC)
                except (TimerError, ValueError) as error:
                    self.add(eid, f'dueDate "{due}" is not an ISO-8601 date-time: {error}')
                else:
                    if not _EARLIEST <= moment <= _LATEST:
                        self.add(eid, f'dueDate "{due}" is out of range (years 1 to 9999)')


def _first_firing_problem(kind: str, source: str) -> str | None:
    """Why a timer that parses cannot be scheduled from now (its first due time overflows
    the date-times the engine stores), or None."""
    try:
        due = next_fire(kind, source, now=datetime.datetime.now(UTC), tz=UTC)
    except (TimerError, ValueError, OverflowError) as error:
        return str(error) or "out of range"
    if due is not None and not _EARLIEST <= due <= _LATEST:
        return "its first due time is out of range (years 1 to 9999)"
    return None


# embedded sub-processes that must begin with a start event (an ad-hoc one has none)
_CONTAINER_KINDS = (ElementKind.SUB_PROCESS, ElementKind.TRANSACTION)


def validate(
    definitions: Definitions,
    *,
    applications: Collection[str] = (),
    deployed_processes: Collection[str] = (),
    functions: Collection[str] = (),
) -> list[Problem]:
    """Every reason the executable processes of ``definitions`` cannot be run (empty: they can).

    ``applications``: the registered invoked-application names service/send tasks may use;
    ``deployed_processes``: process keys a call activity may call besides the file's own;
    ``functions``: the functions expressions may call (empty: the expression module's default).
    """
    checker = _Checker(definitions, applications, deployed_processes, functions)
    for process in definitions.executable_processes:
        checker.check_process(process)
    return checker.problems


def _merge(*groups: Iterable[Problem]) -> list[Problem]:
    merged: list[Problem] = []
    for group in groups:
        for problem in group:
            if problem not in merged:
                merged.append(problem)
    return merged


def parse_and_validate(
    data: bytes | str,
    *,
    max_bytes: int = 5_000_000,
    applications: Collection[str] = (),
    deployed_processes: Collection[str] = (),
    functions: Collection[str] = (),
) -> Definitions:
    """Parse and validate; raise :class:`BpmnError` with the parse and validation problems
    together, or return the deployable definitions."""
    definitions, parse_problems = parse_with_problems(data, max_bytes=max_bytes)
    problems = _merge(
        parse_problems,
        validate(
            definitions,
            applications=applications,
            deployed_processes=deployed_processes,
            functions=functions,
        ),
    )
    if problems:
        raise BpmnError(problems)
    return definitions
