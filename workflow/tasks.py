"""Celery tasks of the workflow, thin wrappers over its services: run due jobs (woken after a
commit that made a job due, and swept periodically by beat so that nothing waits for ever
when a wake-up was lost), clean up history, tell the handlers of new tasks."""

from __future__ import annotations

from celery import shared_task

from workflow.services.history import history_cleanup
from workflow.services.jobs import jobs_run_due
from workflow.services.notifications import notify_new_tasks


@shared_task(ignore_result=True)
def run_jobs(limit: int = 200) -> int:
    return jobs_run_due(limit)


@shared_task(ignore_result=True)
def cleanup_history() -> int:
    return history_cleanup()


@shared_task(ignore_result=True)
def announce_tasks(pairs: list[list[int]]) -> int:
    """Notify the handlers of the tasks just created at these (instance, token) pairs."""
    return notify_new_tasks([(int(a), int(b)) for a, b in pairs])
