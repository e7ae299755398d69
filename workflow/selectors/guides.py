"""What a guide can explain: each deployed process (its latest version) and its user tasks,
named in the reader's language, for the pickers of an app that writes guides (the
knowledge base's editor: "which process and step this article explains")."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery

from workflow import translation
from workflow.bpmn.model import ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.models import ProcessDefinition

__all__ = ["GuideTarget", "guide_targets"]


@dataclass(frozen=True)
class GuideTarget:
    """A process (``key``, ``name``) and its steps as (element id, name) pairs."""

    key: str
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)


def guide_targets() -> list[GuideTarget]:
    """Every process key's latest version with its user tasks in the order of the model,
    by name. A definition that cannot be read is listed without steps."""
    newest = (
        ProcessDefinition.objects.filter(key=OuterRef("key"))
        .order_by("-version")
        .values("version")[:1]
    )
    definitions = ProcessDefinition.objects.filter(version=Subquery(newest)).only(
        "id", "key", "name"
    )
    targets = []
    for definition in definitions:
        steps: list[tuple[str, str]] = []
        try:
            graph = graph_for_definition(definition.pk)
        except (KeyError, ValueError):
            graph = None
        if graph is not None:
            for element in graph.elements.values():
                if element.kind is ElementKind.USER_TASK:
                    name = translation.step_name(definition.key, element.id, element.name)
                    steps.append((element.id, name or element.id))
        targets.append(
            GuideTarget(
                key=definition.key,
                name=translation.process_name(definition.key, definition.name) or definition.key,
                steps=steps,
            )
        )
    return sorted(targets, key=lambda t: t.name)
