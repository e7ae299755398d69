"""The immutable graph a BPMN 2.0 file parses into (pure Python, no Django import).

``parse_bpmn`` (``workflow.bpmn.parser``) turns XML into a :class:`Definitions`; the engine
walks its :class:`Process` graphs, the renderer draws its :class:`Diagram` s. Nothing here is
ever mutated after parsing: every mapping is read-only and every collection a tuple.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping (the parser's dicts are wrapped in this before they are shared)."""
    return MappingProxyType(dict(items or {}))


class ElementKind(StrEnum):
    """Flow nodes, named by their BPMN 2.0 tag."""

    START_EVENT = "startEvent"
    END_EVENT = "endEvent"
    INTERMEDIATE_CATCH_EVENT = "intermediateCatchEvent"
    INTERMEDIATE_THROW_EVENT = "intermediateThrowEvent"
    BOUNDARY_EVENT = "boundaryEvent"
    TASK = "task"
    USER_TASK = "userTask"
    MANUAL_TASK = "manualTask"
    SERVICE_TASK = "serviceTask"
    SEND_TASK = "sendTask"
    RECEIVE_TASK = "receiveTask"
    SCRIPT_TASK = "scriptTask"
    BUSINESS_RULE_TASK = "businessRuleTask"
    CALL_ACTIVITY = "callActivity"
    SUB_PROCESS = "subProcess"
    TRANSACTION = "transaction"
    AD_HOC_SUB_PROCESS = "adHocSubProcess"
    EXCLUSIVE_GATEWAY = "exclusiveGateway"
    PARALLEL_GATEWAY = "parallelGateway"
    INCLUSIVE_GATEWAY = "inclusiveGateway"
    EVENT_BASED_GATEWAY = "eventBasedGateway"
    COMPLEX_GATEWAY = "complexGateway"

    @property
    def is_event(self) -> bool:
        return self.value.endswith("Event")

    @property
    def is_gateway(self) -> bool:
        return self.value.endswith("Gateway")

    @property
    def is_activity(self) -> bool:
        return not (self.is_event or self.is_gateway)


class EventTrigger(StrEnum):
    """What an event waits for or throws (its event definition); NONE for a plain event."""

    NONE = "none"
    TIMER = "timer"
    MESSAGE = "message"
    SIGNAL = "signal"
    ERROR = "error"
    TERMINATE = "terminate"
    ESCALATION = "escalation"
    CONDITIONAL = "conditional"
    COMPENSATE = "compensate"
    CANCEL = "cancel"
    LINK = "link"
    MULTIPLE = "multiple"  # more than one event definition on one event


class TimerKind(StrEnum):
    DURATION = "timeDuration"  # ISO-8601 duration: PT2H, P2D
    DATE = "timeDate"  # ISO-8601 date-time
    CYCLE = "timeCycle"  # ISO-8601 repeating interval: R3/PT1H


@dataclass(frozen=True, slots=True)
class Timer:
    kind: TimerKind
    source: str  # the text in the file: a literal or an expression (``${reminder}``)


@dataclass(frozen=True, slots=True)
class FormField:
    """A ``camunda:formField``. ``validation`` holds the constraints by name (``required``,
    ``readonly``, ``min``, ``max``, ``minlength``, ``maxlength``, ``pattern`` ...), each with its
    configuration text or None."""

    id: str
    label: str
    type: str  # string | long | boolean | date | enum | a custom type name
    default: str | None = None
    enum_values: tuple[tuple[str, str], ...] = ()  # (id, name)
    validation: Mapping[str, str | None] = field(default_factory=frozen_map)
    properties: Mapping[str, str] = field(default_factory=frozen_map)

    @property
    def required(self) -> bool:
        return "required" in self.validation

    @property
    def readonly(self) -> bool:
        return "readonly" in self.validation


@dataclass(frozen=True, slots=True)
class MultiInstance:
    """``multiInstanceLoopCharacteristics``: one inner instance per item of ``collection`` (a
    variable name or an expression) or ``cardinality`` times."""

    sequential: bool
    collection: str | None = None
    element_variable: str | None = None
    cardinality: str | None = None
    completion_condition: str | None = None


@dataclass(frozen=True, slots=True)
class VariableMapping:
    """A call activity's ``camunda:in`` / ``camunda:out``: copy ``source`` (a variable) or the
    value of ``source_expression`` to ``target``; ``all_variables`` copies everything."""

    target: str | None
    source: str | None = None
    source_expression: str | None = None
    all_variables: bool = False


@dataclass(frozen=True, slots=True)
class Element:
    """A flow node of a process (event, activity or gateway).

    ``parent_id`` is the sub-process that contains it (None at process level); ``incoming`` and
    ``outgoing`` are sequence-flow ids. Fields that do not apply to the kind keep their default.
    """

    id: str
    kind: ElementKind
    name: str = ""
    parent_id: str | None = None
    incoming: tuple[str, ...] = ()
    outgoing: tuple[str, ...] = ()
    documentation: str = ""
    # events
    trigger: EventTrigger = EventTrigger.NONE
    timer: Timer | None = None
    message_name: str | None = None  # resolved from messageRef
    signal_name: str | None = None  # resolved from signalRef
    error_code: str | None = None  # resolved from errorRef; None catches every error
    attached_to: str | None = None  # boundary events
    cancel_activity: bool = True  # boundary events: interrupting?
    is_interrupting: bool = True  # start events of event sub-processes
    initiator: str | None = None  # start events: camunda:initiator
    # activities
    default_flow: str | None = None  # gateways and activities: the `default` attribute
    multi_instance: MultiInstance | None = None
    standard_loop: bool = False
    async_before: bool = False
    async_after: bool = False
    # user tasks (camunda/flowable/activiti extensions, read by namespace URI)
    assignee: str | None = None
    candidate_users: str | None = None
    candidate_groups: str | None = None
    due_date: str | None = None
    priority: str | None = None
    form_key: str | None = None
    form_fields: tuple[FormField, ...] = ()
    # ``camunda:properties`` of the element (countersign mode, cc, timeout ... on user tasks)
    properties: Mapping[str, str] = field(default_factory=frozen_map)
    # service / send tasks: which invoked application, and how the file named it
    implementation: str | None = None
    implementation_kind: str | None = None  # class | expression | delegateExpression | type | topic
    # call activities
    called_element: str | None = None
    in_mappings: tuple[VariableMapping, ...] = ()
    out_mappings: tuple[VariableMapping, ...] = ()
    # sub-processes
    triggered_by_event: bool = False  # an event sub-process
    # every vendor extension attribute by "<vendor>:<local name>" (vendor = camunda, for the
    # Camunda, Flowable and Activiti namespaces alike), for what the model has no field for
    extensions: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class SequenceFlow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None  # expression text; None = unconditional


@dataclass(frozen=True, slots=True)
class Process:
    """An executable (or descriptive) process: its flow nodes and sequence flows by id, the
    nodes of embedded sub-processes included (their ``parent_id`` says where they live)."""

    id: str  # the process key
    name: str = ""
    is_executable: bool = True
    elements: Mapping[str, Element] = field(default_factory=frozen_map)
    flows: Mapping[str, SequenceFlow] = field(default_factory=frozen_map)
    history_time_to_live: str | None = None
    candidate_starter_groups: str | None = None
    candidate_starter_users: str | None = None
    # camunda:isStartableInTasklist="false": an application starts it (the knowledge base's
    # article review); the catalogue and the quick starts do not offer it to people
    startable_in_tasklist: bool = True
    documentation: str = ""

    def children(self, parent_id: str | None) -> tuple[Element, ...]:
        """The nodes directly inside ``parent_id`` (None: at process level)."""
        return tuple(e for e in self.elements.values() if e.parent_id == parent_id)

    def start_events(self, parent_id: str | None = None) -> tuple[Element, ...]:
        return tuple(e for e in self.children(parent_id) if e.kind is ElementKind.START_EVENT)

    def boundary_events(self, activity_id: str) -> tuple[Element, ...]:
        return tuple(e for e in self.elements.values() if e.attached_to == activity_id)


# --- diagram interchange (BPMN DI) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Shape:
    """A ``bpmndi:BPMNShape``: where ``element_id`` is drawn."""

    element_id: str
    bounds: Bounds
    label: Bounds | None = None
    is_expanded: bool | None = None
    is_horizontal: bool | None = None
    is_marker_visible: bool | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """A ``bpmndi:BPMNEdge``: the waypoints of a flow or association."""

    element_id: str
    waypoints: tuple[Point, ...]
    label: Bounds | None = None


@dataclass(frozen=True, slots=True)
class Diagram:
    id: str
    name: str
    plane_element: str  # the process or collaboration the plane shows
    shapes: tuple[Shape, ...] = ()
    edges: tuple[Edge, ...] = ()


@dataclass(frozen=True, slots=True)
class Graphic:
    """What the renderer needs to know of any element with an id (flow nodes, flows, pools,
    lanes, data objects, annotations, message flows, associations, groups ...).

    ``tag`` is the BPMN local name (``userTask``, ``participant``, ``textAnnotation``);
    ``markers`` holds drawing hints: ``parallel-mi``, ``sequential-mi``, ``loop``,
    ``compensation``, ``collapsed``, ``non-interrupting``, ``default`` (a default flow),
    ``conditional`` (a conditional flow out of an activity), ``instantiate``,
    ``event-sub-process``; ``text`` is an annotation's text."""

    id: str
    tag: str
    name: str = ""
    trigger: EventTrigger = EventTrigger.NONE
    markers: frozenset[str] = frozenset()
    text: str = ""


@dataclass(frozen=True, slots=True)
class Definitions:
    """A whole BPMN file."""

    id: str
    target_namespace: str = ""
    processes: Mapping[str, Process] = field(default_factory=frozen_map)
    messages: Mapping[str, str] = field(default_factory=frozen_map)  # id -> name
    signals: Mapping[str, str] = field(default_factory=frozen_map)  # id -> name
    errors: Mapping[str, tuple[str, str | None]] = field(
        default_factory=frozen_map
    )  # id -> (name, code)
    diagrams: tuple[Diagram, ...] = ()
    graphics: Mapping[str, Graphic] = field(default_factory=frozen_map)

    @property
    def executable_processes(self) -> tuple[Process, ...]:
        return tuple(p for p in self.processes.values() if p.is_executable)


# --- problems ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file: the element it concerns (or "" for the file as a whole)
    and a plain message for a process designer."""

    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.element_id or '<file>'}: {self.message}"


class BpmnError(Exception):
    """A file that cannot be deployed, with every problem found in it."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))
