"""Deployed definitions parsed once per process: a definition never changes after deployment,
so its :class:`Graph` is kept for the life of the worker (bounded, least recently used out)."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from workflow.bpmn.parser import parse_bpmn
from workflow.engine.graph import Graph
from workflow.models import ProcessDefinition

_MAX = 256
_graphs: OrderedDict[int, Graph] = OrderedDict()
_names: OrderedDict[int, str] = OrderedDict()
_lock = Lock()


def graph_for_definition(definition_id: int) -> Graph:
    with _lock:
        graph = _graphs.get(definition_id)
        if graph is not None:
            _graphs.move_to_end(definition_id)
            return graph
    key, xml = ProcessDefinition.objects.values_list("key", "xml").get(pk=definition_id)
    definitions = parse_bpmn(xml.encode())
    graph = Graph(definitions, definitions.processes[key])
    with _lock:
        _graphs[definition_id] = graph
        while len(_graphs) > _MAX:
            _graphs.popitem(last=False)
    return graph


def definition_name(definition_id: int) -> str:
    """The name a deployed definition was given ("" when it has none or is gone): read once
    per definition, as the name of a deployed version never changes either."""
    with _lock:
        name = _names.get(definition_id)
        if name is not None:
            _names.move_to_end(definition_id)
            return name
    found = (
        ProcessDefinition.objects.filter(pk=definition_id).values_list("name", flat=True).first()
    )
    if found is None:
        return ""  # not cached: a definition that is not there (yet) may be deployed later
    with _lock:
        _names[definition_id] = found
        while len(_names) > _MAX:
            _names.popitem(last=False)
    return found


def clear() -> None:
    with _lock:
        _graphs.clear()
        _names.clear()
