"""What the task page and the instance page read of one instance, each read once for the
page (issue 16).

Its actions (``workflow.selectors.actions``), its diagram, its approval timeline, its
return banner and its status (``workflow.selectors.timeline``, ``status``) all look at the
instance's tasks and history. Each used to read them again: a page of a request took 40
queries. A page opens an :class:`InstanceReads` for its instance, hands it to those reads,
and each table is read once, when first wanted.

It holds what one rendering reads and nothing longer: a view makes a new one after any
change it made (an action's POST that shows the page again builds its context afresh), and
nothing keeps it between requests, so no one is ever shown a task as it was before someone
else acted on it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import Aggregate, CharField, Exists, F, Subquery, Value
from django.db.models.functions import Coalesce

from workflow.models import Execution, HistoryEvent, Incident, ProcessInstance, Task, TaskState

__all__ = ["InstanceReads", "read_with"]


# between element ids in :class:`_Joined`: a control character, never in an element's id
_SEPARATOR = "\x1f"


class _Joined(Aggregate):
    """The values of a group as one text, separated by :data:`_SEPARATOR`
    (``STRING_AGG`` on PostgreSQL, ``GROUP_CONCAT`` on SQLite)."""

    function = "STRING_AGG"
    output_field = CharField()

    def __init__(self, expression: str) -> None:
        super().__init__(F(expression), Value(_SEPARATOR))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra)


def read_with(instance_id: Any) -> dict[str, Any]:
    """Annotations that read, with another query (the task page's read of its task), what
    :class:`InstanceReads` would read apart: ``waiting_at``, where the instance's tokens are
    (the diagram), and ``has_incidents``, whether it has an open incident (rarely: then they
    are read). ``instance_id``: the instance, as an ``OuterRef``. Give the values to
    :class:`InstanceReads`."""
    tokens = (
        Execution.objects.filter(instance_id=instance_id)
        .order_by()
        .values("instance_id")
        .annotate(ids=_Joined("element_id"))
        .values("ids")
    )
    return {
        "waiting_at": Coalesce(Subquery(tokens, output_field=CharField()), Value("")),
        "has_incidents": Exists(
            Incident.objects.filter(instance_id=instance_id, resolved_at__isnull=True)
        ),
    }


class InstanceReads:
    """The instance's tasks, history, open incidents and where it waits, each read at most
    once. ``waiting_at`` and ``has_incidents``: what :func:`read_with` read with something
    else (no query for those)."""

    def __init__(
        self,
        instance: ProcessInstance,
        *,
        waiting_at: str | None = None,
        has_incidents: bool | None = None,
    ) -> None:
        self.instance = instance
        self._known_waiting = waiting_at
        self._has_incidents = has_incidents

    @cached_property
    def executions(self) -> list[tuple[str, str]]:
        """The instance's tokens: (element id, state) of each."""
        return list(
            Execution.objects.filter(instance=self.instance).values_list("element_id", "state")
        )

    @cached_property
    def waiting(self) -> frozenset[str]:
        """The elements the instance's tokens are at (where the diagram shows it waits)."""
        if self._known_waiting is not None:
            return frozenset(filter(None, self._known_waiting.split(_SEPARATOR)))
        return frozenset(element for element, _state in self.executions)

    @cached_property
    def tasks(self) -> list[Task]:
        """Every task of the instance (without its submitted data), in the order created."""
        found = list(Task.objects.filter(instance=self.instance).defer("data").order_by("pk"))
        for task in found:
            task.instance = self.instance  # their candidacy reads the initiator: no query
        return found

    @property
    def open_tasks(self) -> list[Task]:
        return [task for task in self.tasks if task.state == TaskState.OPEN]

    @cached_property
    def history(self) -> list[HistoryEvent]:
        """The instance's history, oldest first (by time, then id)."""
        return list(HistoryEvent.objects.filter(instance_id=self.instance.pk).order_by("at", "id"))

    @cached_property
    def open_incidents(self) -> list[Incident]:
        """The incidents not resolved yet, oldest first."""
        if self._has_incidents is False:
            return []
        return list(
            Incident.objects.filter(instance=self.instance, resolved_at__isnull=True).order_by(
                "created_at"
            )
        )
