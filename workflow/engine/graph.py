"""A parsed process prepared for running: expressions compiled once, flows and boundary events
looked up by element, what can reach an inclusive join. One :class:`Graph` per deployed
definition, cached for the life of the process (definitions never change)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from workflow.bpmn.expressions import Expression, compile_expression, is_expression
from workflow.bpmn.model import Definitions, Element, ElementKind, EventTrigger, Process


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    target: str
    condition: Expression | None


class Graph:
    def __init__(self, definitions: Definitions, process: Process) -> None:
        self.definitions = definitions
        self.process = process
        self.key = process.id
        self.elements: Mapping[str, Element] = process.elements
        self._expressions: dict[str, Expression] = {}
        self._waits: dict[str, tuple[bool, bool]] = {}
        self._reach: dict[str, frozenset[str]] = {}
        self.outgoing: dict[str, tuple[Flow, ...]] = {}
        for element in process.elements.values():
            flows = []
            for flow_id in element.outgoing:
                flow = process.flows[flow_id]
                condition = self.expression(flow.condition) if flow.condition else None
                flows.append(Flow(flow.id, flow.target, condition))
            self.outgoing[element.id] = tuple(flows)
        self.boundaries: dict[str, tuple[Element, ...]] = {}
        self.event_subprocesses: dict[str | None, tuple[Element, ...]] = {}
        for element in process.elements.values():
            if element.attached_to:
                self.boundaries[element.attached_to] = (
                    *self.boundaries.get(element.attached_to, ()),
                    element,
                )
            if element.kind is ElementKind.SUB_PROCESS and element.triggered_by_event:
                self.event_subprocesses[element.parent_id] = (
                    *self.event_subprocesses.get(element.parent_id, ()),
                    element,
                )
        self.incoming_count = {e.id: len(e.incoming) for e in process.elements.values()}

    def waits(self, element_id: str) -> tuple[bool, bool]:
        """Whether a token at this element may have (jobs, subscriptions) to remove when it
        moves on: timers, async and service jobs; message and signal subscriptions."""
        found = self._waits.get(element_id)
        if found is None:
            element = self.elements.get(element_id)
            events: list[Element] = []
            jobs = False
            if element is not None:
                events = [element, *self.boundaries.get(element_id, ())]
                if element.kind is ElementKind.EVENT_BASED_GATEWAY:
                    events += [self.elements[f.target] for f in self.outgoing[element_id]]
                jobs = element.kind in (ElementKind.SERVICE_TASK, ElementKind.SEND_TASK) or (
                    element.async_before or element.async_after
                )
            jobs = jobs or any(e.trigger is EventTrigger.TIMER for e in events)
            subscriptions = any(
                e.trigger in (EventTrigger.MESSAGE, EventTrigger.SIGNAL)
                or e.kind is ElementKind.RECEIVE_TASK
                for e in events
            )
            found = self._waits[element_id] = (jobs, subscriptions)
        return found

    def expression(self, text: str) -> Expression:
        compiled = self._expressions.get(text)
        if compiled is None:
            compiled = self._expressions[text] = compile_expression(text)
        return compiled

    def value(self, text: str | None, scope: Mapping[str, Any]) -> Any:
        """The value of an attribute that may be an expression (``${x}``) or a literal."""
        if text is None:
            return None
        if is_expression(text):
            return self.expression(text).evaluate(scope, FUNCTIONS)
        return text

    def start_event(self, parent_id: str | None) -> Element:
        """Where a plain start begins: the none start event (else the first start event)."""
        starts = self.process.start_events(parent_id)
        none_starts = [e for e in starts if e.trigger is EventTrigger.NONE]
        return (none_starts or list(starts))[0]

    def event_start(self, subprocess_id: str) -> Element:
        return self.process.start_events(subprocess_id)[0]

    @cached_property
    def _successors(self) -> dict[str, frozenset[str]]:
        """Direct successors of each node in its own scope: its flows' targets and, for an
        activity, the targets of its boundary events' flows."""
        result: dict[str, frozenset[str]] = {}
        for element in self.elements.values():
            targets = {f.target for f in self.outgoing[element.id]}
            for boundary in self.boundaries.get(element.id, ()):
                targets.add(boundary.id)
            result[element.id] = frozenset(targets)
        return result

    def can_reach(self, source: str, target: str) -> bool:
        """Whether a token at ``source`` may still arrive at ``target`` (same scope)."""
        reach = self._reach.get(source)
        if reach is None:
            seen: set[str] = set()
            todo = list(self._successors.get(source, ()))
            while todo:
                node = todo.pop()
                if node not in seen:
                    seen.add(node)
                    todo.extend(self._successors.get(node, ()))
            reach = self._reach[source] = frozenset(seen)
        return target in reach


# Functions expressions may call. Participant functions (manager(), deptHead()) join here.
FUNCTIONS: dict[str, Any] = {}
