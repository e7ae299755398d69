"""History cleanup: finished instances past their process's history time to live are deleted
with their rows and their attachments' files.
"""

from __future__ import annotations

import datetime
import functools

from django.db import transaction

from workflow.bpmn.timers import TimerError, history_time_to_live
from workflow.models import (
    Attachment,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessDefinition,
    ProcessInstance,
    Task,
)
from workflow.services.engine import current_time


def _delete_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        if name:
            storage.delete(name)


def history_cleanup(*, now: datetime.datetime | None = None, batch: int = 1000) -> int:
    """Delete ended instances (with their tasks and history) whose definition's history
    time-to-live has passed since they ended; how many instances went."""
    now = now or current_time()
    removed = 0
    ttl_by_definition = dict(
        ProcessDefinition.objects.exclude(history_time_to_live="").values_list(
            "pk", "history_time_to_live"
        )
    )
    for definition_id, ttl in ttl_by_definition.items():
        try:
            keep = history_time_to_live(ttl)
        except TimerError:
            continue
        cutoff = now - (keep.add_to(now) - now)
        while True:
            ids = list(
                ProcessInstance.objects.filter(
                    definition_id=definition_id,
                    state__in=[InstanceState.COMPLETED, InstanceState.TERMINATED],
                    ended_at__lt=cutoff,
                    root__isnull=True,
                ).values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            with transaction.atomic():
                family = set(ids)
                frontier = set(ids)
                while frontier:
                    frontier = (
                        set(
                            ProcessInstance.objects.filter(parent_id__in=frontier).values_list(
                                "pk", flat=True
                            )
                        )
                        - family
                    )
                    family |= frontier
                # the attachments' files go with their rows, once the deletion is committed
                files = list(
                    Attachment.objects.filter(instance_id__in=family).values_list("file", flat=True)
                )
                transaction.on_commit(functools.partial(_delete_files, files))
                HistoryEvent.objects.filter(instance_id__in=family).delete()
                Incident.objects.filter(instance_id__in=family).delete()
                Task.objects.filter(instance_id__in=family).delete()
                ProcessInstance.objects.filter(pk__in=family, parent__isnull=False).update(
                    parent=None
                )
                ProcessInstance.objects.filter(pk__in=family).delete()
            removed += len(ids)
    return removed
