"""Read a BPMN 2.0 XML file into the immutable graph of :mod:`workflow.bpmn.model`.

Pure Python (no Django). The XML is read through ``defusedxml``: DTDs, entity declarations and
external references are refused before anything is expanded or fetched, the size is bounded
before parsing and the element nesting depth while parsing.

Namespaces are matched by URI, never by prefix. Vendor extensions of Camunda 7, Flowable and
Activiti are read alike and stored as ``"camunda:<local name>"``.

:func:`parse_bpmn` raises :class:`~workflow.bpmn.model.BpmnError` for a file that cannot be
read at all, and, after reading everything, for structural problems (duplicate ids, a
sequence flow or boundary event that refers to nothing), all of them at once. Whether the
engine can *run* what it read is the validator's business (:mod:`workflow.bpmn.validate`).
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import re
from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element as XmlElement
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from workflow.bpmn.model import (
    Bounds,
    BpmnError,
    Definitions,
    Diagram,
    Edge,
    Element,
    ElementKind,
    EventTrigger,
    FormField,
    Graphic,
    MultiInstance,
    Point,
    Problem,
    Process,
    SequenceFlow,
    Shape,
    Timer,
    TimerKind,
    VariableMapping,
    frozen_map,
)

__all__ = [
    "BPMN_NS",
    "DC_NS",
    "DD_DI_NS",
    "DI_NS",
    "MAX_DEPTH",
    "VENDOR_NAMESPACES",
    "XSI_NS",
    "parse_bpmn",
    "parse_with_problems",
    "xml_text",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DD_DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
VENDOR_NAMESPACES = frozenset(
    {
        "http://camunda.org/schema/1.0/bpmn",  # Camunda 7
        "http://flowable.org/bpmn",  # Flowable
        "http://activiti.org/bpmn",  # Activiti (and Camunda's own legacy files)
    }
)
VENDOR = "camunda"  # the prefix every vendor extension is stored under
MAX_DEPTH = 200

_FLOW_NODE_TAGS = frozenset(kind.value for kind in ElementKind)
_CONTAINER_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_ACTIVITY_TAGS = frozenset(k.value for k in ElementKind if k.is_activity)
_EVENT_DEFINITIONS = {
    "timerEventDefinition": EventTrigger.TIMER,
    "messageEventDefinition": EventTrigger.MESSAGE,
    "signalEventDefinition": EventTrigger.SIGNAL,
    "errorEventDefinition": EventTrigger.ERROR,
    "terminateEventDefinition": EventTrigger.TERMINATE,
    "escalationEventDefinition": EventTrigger.ESCALATION,
    "conditionalEventDefinition": EventTrigger.CONDITIONAL,
    "compensateEventDefinition": EventTrigger.COMPENSATE,
    "cancelEventDefinition": EventTrigger.CANCEL,
    "linkEventDefinition": EventTrigger.LINK,
}
# how a service/send/business-rule task names what it invokes, in order of precedence
# (camunda:type="external" is only the marker of an external task: its topic names the work)
_IMPLEMENTATION_ATTRIBUTES = ("topic", "type", "delegateExpression", "expression", "class")
_LISTENERS = ("executionListener", "taskListener")
_XML_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


def _q(local: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{local}"


def _split(tag: Any) -> tuple[str, str]:
    """(namespace URI, local name) of a Clark-notation tag or attribute name."""
    if not isinstance(tag, str):  # comments and processing instructions
        return "", ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _bpmn_local(node: XmlElement) -> str | None:
    ns, local = _split(node.tag)
    return local if ns == BPMN_NS else None


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _text(node: XmlElement | None) -> str:
    return "".join(node.itertext()).strip() if node is not None else ""


def _vendor_attributes(node: XmlElement) -> dict[str, str]:
    found = {}
    for name, value in node.attrib.items():
        ns, local = _split(name)
        if ns in VENDOR_NAMESPACES:
            found[f"{VENDOR}:{local}"] = value
    return found


def _vendor_children(node: XmlElement | None, local: str) -> Iterator[XmlElement]:
    if node is None:
        return
    for child in node:
        ns, name = _split(child.tag)
        if ns in VENDOR_NAMESPACES and name == local:
            yield child


def _vendor_attr(node: XmlElement, local: str) -> str | None:
    for ns in VENDOR_NAMESPACES:
        value = node.get(f"{{{ns}}}{local}")
        if value is not None:
            return value
    return None


# --- reading the XML safely -------------------------------------------------------------------


def _read_xml(data: bytes | str, max_bytes: int) -> XmlElement:
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate, e.g. "\ud800" from JSON
            raise BpmnError(
                [
                    Problem(
                        "",
                        f"the text is not valid Unicode: character {error.start + 1} is an "
                        "unpaired surrogate",
                    )
                ]
            ) from None
        # the text is already decoded: an encoding declaration no longer applies
        raw = _XML_ENCODING.sub(rb"\1\2UTF-8\2", raw, count=1)
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise TypeError(f"parse_bpmn() takes bytes or str, not {type(data).__name__}")
    if len(raw) > max_bytes:
        raise BpmnError(
            [
                Problem(
                    "",
                    f"the file is {len(raw):,} bytes; files larger than {max_bytes:,} bytes "
                    "are refused",
                )
            ]
        )
    if not raw.strip():
        raise BpmnError([Problem("", "the file is empty")])
    depth = 0
    root: XmlElement | None = None
    try:
        for event, node in SafeET.iterparse(
            io.BytesIO(raw),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "start":
                depth += 1
                if root is None:
                    root = node
                if depth > MAX_DEPTH:
                    raise BpmnError(
                        [
                            Problem(
                                "",
                                f"elements are nested more than {MAX_DEPTH} levels deep; "
                                "the file is refused",
                            )
                        ]
                    )
            else:
                depth -= 1
    except DTDForbidden:
        raise BpmnError(
            [
                Problem(
                    "",
                    "the file declares a DTD (<!DOCTYPE ...>); DTDs, entity declarations and "
                    "external references are refused in BPMN files",
                )
            ]
        ) from None
    except EntitiesForbidden:
        raise BpmnError(
            [Problem("", "the file declares XML entities; entity declarations are refused")]
        ) from None
    except ExternalReferenceForbidden:
        raise BpmnError(
            [
                Problem(
                    "", "the file refers to an external resource; external references are refused"
                )
            ]
        ) from None
    except (LookupError, ValueError) as error:
        # an encoding declaration expat cannot read: unknown ("x-foo"), not a text encoding
        # ("base64") or multi-byte (GBK, Big5, Shift_JIS: "multi-byte encodings are not supported")
        declared = _DECLARED_ENCODING.match(raw)
        named = f'"{declared.group(1).decode("ascii", "replace")[:40]}" ' if declared else ""
        raise BpmnError(
            [
                Problem(
                    "",
                    f"the file's encoding {named}cannot be read ({error}); save the file as UTF-8",
                )
            ]
        ) from None
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        column += 1  # expat counts columns from 0, editors from 1
        reason = str(error).split(":")[0].strip() or "not well-formed"
        raise BpmnError(
            [
                Problem(
                    "", f"the file is not well-formed XML: {reason} at line {line}, column {column}"
                )
            ]
        ) from None
    if root is None:  # pragma: no cover - iterparse always yields the root or raises
        raise BpmnError([Problem("", "the file is empty")])
    if root.tag != _q("definitions"):
        ns, local = _split(root.tag)
        found = f"<{local}>" + (f" in namespace {ns}" if ns else " without a namespace")
        raise BpmnError(
            [
                Problem(
                    "",
                    f"not a BPMN 2.0 file: the root element is {found}, expected <definitions> "
                    f"in namespace {BPMN_NS}",
                )
            ]
        )
    return root


# --- the model part ----------------------------------------------------------------------------


class _Reader:
    def __init__(self, root: XmlElement) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.ids: dict[str, str] = {}  # every id of the model part -> its local tag
        self.messages: dict[str, str] = {}
        self.signals: dict[str, str] = {}
        self.errors: dict[str, tuple[str, str | None]] = {}
        self.top_definitions: dict[str, XmlElement] = {}  # top-level event definitions by id
        self.graphics: dict[str, Graphic] = {}
        self.default_flows: set[str] = set()
        self.shapes: dict[str, Shape] = {}

    def problem(self, element_id: str, message: str) -> None:
        self.problems.append(Problem(element_id, message))

    # ids, definitions-level elements -------------------------------------------------------

    def collect_ids(self) -> None:
        duplicates: set[str] = set()
        for node in self.root.iter():
            local = _bpmn_local(node)
            node_id = node.get("id")
            if local is None or node_id is None or node is self.root:
                continue
            if node_id in self.ids:
                if node_id not in duplicates:
                    duplicates.add(node_id)
                    self.problem(
                        node_id,
                        f'the id "{node_id}" is used by more than one element '
                        f"(a {self.ids[node_id]} and a {local})",
                    )
                continue
            self.ids[node_id] = local

    def collect_root_elements(self) -> None:
        for node in self.root:
            local = _bpmn_local(node)
            node_id = node.get("id", "")
            if local == "message":
                self.messages[node_id] = node.get("name") or node_id
            elif local == "signal":
                self.signals[node_id] = node.get("name") or node_id
            elif local == "error":
                self.errors[node_id] = (node.get("name") or node_id, node.get("errorCode"))
            elif local in _EVENT_DEFINITIONS:
                self.top_definitions[node_id] = node

    # processes -------------------------------------------------------------------------

    def read_processes(self) -> dict[str, Process]:
        processes: dict[str, Process] = {}
        for node in self.root:
            if _bpmn_local(node) != "process":
                continue
            process = self.read_process(node)
            processes[process.id] = process
        return processes

    def read_process(self, node: XmlElement) -> Process:
        process_id = node.get("id", "")
        elements: dict[str, Element] = {}
        flows: dict[str, SequenceFlow] = {}
        self.read_container(node, None, elements, flows)
        incoming: dict[str, list[str]] = {}
        outgoing: dict[str, list[str]] = {}
        for flow in flows.values():
            for end, ref in (("sourceRef", flow.source), ("targetRef", flow.target)):
                if ref not in self.ids:
                    self.problem(flow.id, f'{end} "{ref}" names no element')
            outgoing.setdefault(flow.source, []).append(flow.id)
            incoming.setdefault(flow.target, []).append(flow.id)
        for element_id, element in list(elements.items()):
            if element.attached_to is not None and element.attached_to not in elements:
                self.problem(element_id, f'attachedToRef "{element.attached_to}" names no activity')
            elements[element_id] = _replace(
                element,
                incoming=tuple(incoming.get(element_id, ())),
                outgoing=tuple(outgoing.get(element_id, ())),
            )
        return Process(
            id=process_id,
            name=node.get("name", ""),
            is_executable=_bool(node.get("isExecutable"), True),
            elements=frozen_map(elements),
            flows=frozen_map(flows),
            history_time_to_live=_vendor_attr(node, "historyTimeToLive"),
            candidate_starter_groups=_vendor_attr(node, "candidateStarterGroups"),
            candidate_starter_users=_vendor_attr(node, "candidateStarterUsers"),
            startable_in_tasklist=_bool(_vendor_attr(node, "isStartableInTasklist"), True),
            documentation=self.documentation(node),
        )

    def read_container(
        self,
        container: XmlElement,
        parent_id: str | None,
        elements: dict[str, Element],
        flows: dict[str, SequenceFlow],
    ) -> None:
        for child in container:
            local = _bpmn_local(child)
            if local is None:
                continue
            child_id = child.get("id")
            if local == "sequenceFlow" and child_id is not None:
                condition_node = child.find(_q("conditionExpression"))
                condition = _text(condition_node) if condition_node is not None else None
                flows[child_id] = SequenceFlow(
                    id=child_id,
                    source=child.get("sourceRef", ""),
                    target=child.get("targetRef", ""),
                    name=child.get("name", ""),
                    condition=condition or None,
                )
            elif local in _FLOW_NODE_TAGS and child_id is not None:
                if child_id not in elements:
                    elements[child_id] = self.read_element(child, local, parent_id)
                if local in _CONTAINER_TAGS:
                    self.read_container(child, child_id, elements, flows)

    def documentation(self, node: XmlElement) -> str:
        return "\n".join(t for t in (_text(d) for d in node.findall(_q("documentation"))) if t)

    def read_element(self, node: XmlElement, tag: str, parent_id: str | None) -> Element:
        kind = ElementKind(tag)
        fields: dict[str, Any] = {}
        extensions = _vendor_attributes(node)
        extension_elements = node.find(_q("extensionElements"))
        for listener in _LISTENERS:
            found = [
                self.listener_text(child)
                for child in _vendor_children(extension_elements, listener)
            ]
            if found:
                extensions[f"{VENDOR}:{listener}"] = "; ".join(found)
        if extension_elements is not None:  # record the presence of other vendor extensions
            for child in extension_elements:
                ns, local = _split(child.tag)
                if ns in VENDOR_NAMESPACES:
                    extensions.setdefault(f"{VENDOR}:{local}", "")

        if kind.is_event:
            self.read_event(node, fields, extensions)
        if "default" in node.attrib:
            fields["default_flow"] = node.get("default")
            self.default_flows.add(node.get("default", ""))
        mi = node.find(_q("multiInstanceLoopCharacteristics"))
        if mi is not None:
            data_item = mi.find(_q("inputDataItem"))
            fields["multi_instance"] = MultiInstance(
                sequential=_bool(mi.get("isSequential"), False),
                collection=_vendor_attr(mi, "collection")
                or _text(mi.find(_q("loopDataInputRef")))
                or None,
                element_variable=_vendor_attr(mi, "elementVariable")
                or (data_item.get("name") if data_item is not None else None),
                cardinality=_text(mi.find(_q("loopCardinality"))) or None,
                completion_condition=_text(mi.find(_q("completionCondition"))) or None,
            )
        if node.find(_q("standardLoopCharacteristics")) is not None:
            fields["standard_loop"] = True
        fields["async_before"] = _bool(
            _vendor_attr(node, "asyncBefore") or _vendor_attr(node, "async"), False
        )
        fields["async_after"] = _bool(_vendor_attr(node, "asyncAfter"), False)
        for attribute, field_name in (
            ("assignee", "assignee"),
            ("candidateUsers", "candidate_users"),
            ("candidateGroups", "candidate_groups"),
            ("dueDate", "due_date"),
            ("priority", "priority"),
            ("formKey", "form_key"),
        ):
            value = _vendor_attr(node, attribute)
            if value is not None:
                fields[field_name] = value
        form_data = next(_vendor_children(extension_elements, "formData"), None)
        if form_data is not None:
            fields["form_fields"] = tuple(
                self.read_form_field(f) for f in _vendor_children(form_data, "formField")
            )
        properties = {
            prop.get("name", "") or prop.get("id", ""): prop.get("value", "") or ""
            for group in _vendor_children(extension_elements, "properties")
            for prop in _vendor_children(group, "property")
        }
        if properties:
            fields["properties"] = frozen_map(properties)
        if tag in ("serviceTask", "sendTask", "businessRuleTask", "scriptTask"):
            for attribute in _IMPLEMENTATION_ATTRIBUTES:
                value = _vendor_attr(node, attribute)
                if value is None or (attribute == "type" and value == "external"):
                    continue
                fields["implementation"] = value.strip()
                fields["implementation_kind"] = attribute
                break
        if kind is ElementKind.RECEIVE_TASK or kind is ElementKind.SEND_TASK:
            message_ref = node.get("messageRef")
            if message_ref:
                fields["message_name"] = self.messages.get(message_ref)
        if kind is ElementKind.CALL_ACTIVITY:
            fields["called_element"] = node.get("calledElement") or None
            fields["in_mappings"] = tuple(
                self.read_mapping(m) for m in _vendor_children(extension_elements, "in")
            )
            fields["out_mappings"] = tuple(
                self.read_mapping(m) for m in _vendor_children(extension_elements, "out")
            )
        if tag in _CONTAINER_TAGS:
            fields["triggered_by_event"] = _bool(node.get("triggeredByEvent"), False)
        return Element(
            id=node.get("id", ""),
            kind=kind,
            name=node.get("name", "") or "",
            parent_id=parent_id,
            documentation=self.documentation(node),
            extensions=frozen_map(extensions),
            **fields,
        )

    def event_definitions(self, node: XmlElement) -> list[XmlElement]:
        found = [child for child in node if _bpmn_local(child) in _EVENT_DEFINITIONS]
        for ref in node.findall(_q("eventDefinitionRef")):
            definition = self.top_definitions.get(_text(ref))
            if definition is not None:
                found.append(definition)
        return found

    def read_event(
        self, node: XmlElement, fields: dict[str, Any], extensions: dict[str, str]
    ) -> None:
        definitions = self.event_definitions(node)
        if len(definitions) > 1:
            fields["trigger"] = EventTrigger.MULTIPLE
        for definition in definitions:
            local = _bpmn_local(definition) or ""
            trigger = _EVENT_DEFINITIONS[local]
            if len(definitions) == 1:
                fields["trigger"] = trigger
            if trigger is EventTrigger.TIMER:
                for timer_kind in TimerKind:
                    value = definition.find(_q(timer_kind.value))
                    if value is not None:
                        source = _text(value)
                        if source:
                            fields["timer"] = Timer(timer_kind, source)
                        xsi_type = value.get(_q("type", XSI_NS))
                        if xsi_type is not None:
                            extensions["xsi:type"] = xsi_type
                        break
            elif trigger is EventTrigger.MESSAGE:
                ref = definition.get("messageRef")
                if ref:
                    fields["message_name"] = self.messages.get(ref)
            elif trigger is EventTrigger.SIGNAL:
                ref = definition.get("signalRef")
                if ref:
                    fields["signal_name"] = self.signals.get(ref)
            elif trigger is EventTrigger.ERROR:
                ref = definition.get("errorRef")
                if ref and ref in self.errors:
                    fields["error_code"] = self.errors[ref][1]
        if "attachedToRef" in node.attrib:
            fields["attached_to"] = node.get("attachedToRef")
            fields["cancel_activity"] = _bool(node.get("cancelActivity"), True)
        fields["is_interrupting"] = _bool(node.get("isInterrupting"), True)
        initiator = _vendor_attr(node, "initiator")
        if initiator is not None:
            fields["initiator"] = initiator

    @staticmethod
    def listener_text(node: XmlElement) -> str:
        for attribute in ("class", "expression", "delegateExpression"):
            value = node.get(attribute)
            if value:
                return value
        if next(_vendor_children(node, "script"), None) is not None:
            return "script"
        return node.get("event", "") or "listener"

    @staticmethod
    def read_form_field(node: XmlElement) -> FormField:
        validation: dict[str, str | None] = {}
        for constraints in _vendor_children(node, "validation"):
            for constraint in _vendor_children(constraints, "constraint"):
                name = constraint.get("name")
                if name:
                    validation[name] = constraint.get("config")
        properties: dict[str, str] = {}
        for group in _vendor_children(node, "properties"):
            for prop in _vendor_children(group, "property"):
                if prop.get("id"):
                    properties[prop.get("id", "")] = prop.get("value", "")
        return FormField(
            id=node.get("id", ""),
            label=node.get("label", "") or "",
            type=node.get("type", "string") or "string",
            default=node.get("defaultValue"),
            enum_values=tuple(
                (v.get("id", ""), v.get("name", "") or v.get("id", ""))
                for v in _vendor_children(node, "value")
            ),
            validation=frozen_map(validation),
            properties=frozen_map(properties),
        )

    @staticmethod
    def read_mapping(node: XmlElement) -> VariableMapping:
        return VariableMapping(
            target=node.get("target"),
            source=node.get("source"),
            source_expression=node.get("sourceExpression"),
            all_variables=(node.get("variables") or "").strip().lower() == "all",
        )

    # diagrams ----------------------------------------------------------------------------

    def read_diagrams(self) -> tuple[Diagram, ...]:
        diagrams = []
        for diagram in self.root.iter(_q("BPMNDiagram", DI_NS)):
            plane = diagram.find(_q("BPMNPlane", DI_NS))
            shapes: list[Shape] = []
            edges: list[Edge] = []
            if plane is not None:
                for shape in plane.iter(_q("BPMNShape", DI_NS)):
                    read = self.read_shape(shape)
                    if read is not None:
                        shapes.append(read)
                        self.shapes.setdefault(read.element_id, read)
                for edge in plane.iter(_q("BPMNEdge", DI_NS)):
                    edges.append(self.read_edge(edge))
            diagrams.append(
                Diagram(
                    id=diagram.get("id", ""),
                    name=diagram.get("name", "") or "",
                    plane_element=plane.get("bpmnElement", "") if plane is not None else "",
                    shapes=tuple(shapes),
                    edges=tuple(edges),
                )
            )
        return tuple(diagrams)

    def bounds(self, owner: str, node: XmlElement | None) -> Bounds | None:
        if node is None:
            return None
        try:
            return Bounds(
                x=float(node.get("x", "0")),
                y=float(node.get("y", "0")),
                width=float(node.get("width", "0")),
                height=float(node.get("height", "0")),
            )
        except ValueError:
            self.problem(owner, "the diagram bounds are not numbers")
            return None

    def label(self, owner: str, node: XmlElement) -> Bounds | None:
        label = node.find(_q("BPMNLabel", DI_NS))
        return self.bounds(owner, label.find(_q("Bounds", DC_NS))) if label is not None else None

    def read_shape(self, node: XmlElement) -> Shape | None:
        element_id = node.get("bpmnElement", "")
        bounds = self.bounds(element_id, node.find(_q("Bounds", DC_NS)))
        if bounds is None:
            return None

        def flag(name: str) -> bool | None:
            value = node.get(name)
            return None if value is None else _bool(value, False)

        return Shape(
            element_id=element_id,
            bounds=bounds,
            label=self.label(element_id, node),
            is_expanded=flag("isExpanded"),
            is_horizontal=flag("isHorizontal"),
            is_marker_visible=flag("isMarkerVisible"),
        )

    def read_edge(self, node: XmlElement) -> Edge:
        element_id = node.get("bpmnElement", "")
        points = []
        for waypoint in node.findall(_q("waypoint", DD_DI_NS)):
            try:
                points.append(Point(float(waypoint.get("x", "0")), float(waypoint.get("y", "0"))))
            except ValueError:
                self.problem(element_id, "the diagram waypoints are not numbers")
        return Edge(
            element_id=element_id, waypoints=tuple(points), label=self.label(element_id, node)
        )

    # graphics ----------------------------------------------------------------------------

    def read_graphics(self, processes: dict[str, Process]) -> dict[str, Graphic]:
        elements: dict[str, Element] = {}
        flows: dict[str, SequenceFlow] = {}
        for process in processes.values():
            elements.update(process.elements)
            flows.update(process.flows)
        graphics: dict[str, Graphic] = {}
        for node in self.root.iter():
            tag = _bpmn_local(node)
            node_id = node.get("id")
            if tag is None or node_id is None or node is self.root or node_id in graphics:
                continue
            markers: set[str] = set()
            trigger = EventTrigger.NONE
            element = elements.get(node_id)
            if element is not None:
                trigger = element.trigger
                if element.multi_instance is not None:
                    markers.add(
                        "sequential-mi" if element.multi_instance.sequential else "parallel-mi"
                    )
                if element.standard_loop:
                    markers.add("loop")
                if element.attached_to is not None and not element.cancel_activity:
                    markers.add("non-interrupting")
                if element.kind is ElementKind.START_EVENT and not element.is_interrupting:
                    markers.add("non-interrupting")
                if element.triggered_by_event:
                    markers.add("event-sub-process")
            elif tag.endswith("Event"):  # an event outside a process (e.g. in a choreography)
                definitions = self.event_definitions(node)
                if len(definitions) > 1:
                    trigger = EventTrigger.MULTIPLE
                elif definitions:
                    trigger = _EVENT_DEFINITIONS[_bpmn_local(definitions[0]) or ""]
            if tag in _ACTIVITY_TAGS and _bool(node.get("isForCompensation"), False):
                markers.add("compensation")
            if tag == "receiveTask" and _bool(node.get("instantiate"), False):
                markers.add("instantiate")
            shape = self.shapes.get(node_id)
            if tag in _ACTIVITY_TAGS and shape is not None and shape.is_expanded is False:
                markers.add("collapsed")
            flow = flows.get(node_id)
            if flow is not None:
                if node_id in self.default_flows:
                    markers.add("default")
                source = elements.get(flow.source)
                if flow.condition is not None and source is not None and source.kind.is_activity:
                    markers.add("conditional")
            graphics[node_id] = Graphic(
                id=node_id,
                tag=tag,
                name=(node.get("name") or "") if tag != "textAnnotation" else "",
                trigger=trigger,
                markers=frozenset(markers),
                text=_text(node.find(_q("text"))) if tag == "textAnnotation" else "",
            )
        return graphics


def _replace(element: Element, **changes: Any) -> Element:
    return dataclasses.replace(element, **changes)


def parse_with_problems(
    data: bytes | str, *, max_bytes: int = 5_000_000
) -> tuple[Definitions, list[Problem]]:
    """Read ``data`` as far as possible: the definitions and the structural problems found.

    Raises :class:`BpmnError` only when the XML cannot be read at all."""
    root = _read_xml(data, max_bytes)
    reader = _Reader(root)
    reader.collect_ids()
    reader.collect_root_elements()
    processes = reader.read_processes()
    diagrams = reader.read_diagrams()
    graphics = reader.read_graphics(processes)
    definitions = Definitions(
        id=root.get("id", ""),
        target_namespace=root.get("targetNamespace", "") or "",
        processes=frozen_map(processes),
        messages=frozen_map(reader.messages),
        signals=frozen_map(reader.signals),
        errors=frozen_map(reader.errors),
        diagrams=diagrams,
        graphics=frozen_map(graphics),
    )
    return definitions, reader.problems


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def xml_text(data: bytes) -> str:
    """The text of an XML file that :func:`parse_bpmn` has read, decoded the way the XML says
    (a byte-order mark, else the declared encoding, else UTF-8), to be stored as text. The
    stored text keeps its declaration; reading a ``str`` back ignores it."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)
    if data.startswith(b"<\x00"):
        return data.decode("utf-16-le")
    if data.startswith(b"\x00<"):
        return data.decode("utf-16-be")
    declared = _DECLARED_ENCODING.match(data)
    return data.decode(declared.group(1).decode("ascii") if declared else "utf-8")


def parse_bpmn(data: bytes | str, *, max_bytes: int = 5_000_000) -> Definitions:
    """Parse a BPMN 2.0 file; raise :class:`BpmnError` with every problem that stops reading it
    (unreadable XML, or structural problems such as duplicate ids and dangling references)."""
    definitions, problems = parse_with_problems(data, max_bytes=max_bytes)
    if problems:
        raise BpmnError(problems)
    return definitions
