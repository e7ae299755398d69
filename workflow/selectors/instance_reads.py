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

from workflow.models import HistoryEvent, Incident, ProcessInstance, Task, TaskState

__all__ = ["InstanceReads"]


class InstanceReads:
    """The instance's tasks, history and open incidents, each read at most once."""

    def __init__(self, instance: ProcessInstance) -> None:
        self.instance = instance

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
        return list(
            Incident.objects.filter(instance=self.instance, resolved_at__isnull=True).order_by(
                "created_at"
            )
        )
