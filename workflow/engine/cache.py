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


def clear() -> None:
    with _lock:
        _graphs.clear()
